"""The exception ``schema_check`` (the validator generated from the schema) raises."""

from __future__ import annotations

import re
from typing import Any

from jenkins_bridge.descriptor.yamlsource import KeyPath


class SchemaViolation(ValueError):
    """The first rule the data breaks. The generated code raises it with fastjsonschema's
    arguments: ``name`` is the dotted place (``data.pipeline.test[0]``), ``rule`` the keyword.
    """

    def __init__(
        self,
        message: str,
        value: Any = None,
        name: str | None = None,
        definition: Any = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.name = name or "data"
        self.rule = rule

    @property
    def path(self) -> KeyPath:
        parts: list[str | int] = []
        for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", self.name[len("data") :]):
            parts.append(int(index) if index else key)
        return tuple(parts)
