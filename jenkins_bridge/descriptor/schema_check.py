"""A pure-Python check that a descriptor is certainly valid against the schema, so that a run of
a few files (``validate`` of the file a commit changed) need not import and compile jsonschema-rs
(together about a fifth of such a run).

It answers only "certainly valid" (True) or "not sure" (False), never "invalid": every problem
is still found and worded by jsonschema-rs (``validation.schema_problems``), which runs whenever
this says False. So it may be incomplete, never wrong in the other direction: it knows the
keywords the schema uses (draft-07: type, properties, additionalProperties, required, items,
minItems, propertyNames, pattern, minLength, maxLength, minimum, maximum, exclusiveMinimum,
exclusiveMaximum, enum, const) and says False for any other, for a schema that is not a
mapping or a boolean, and wherever Python could disagree with jsonschema-rs: a pattern over text
other than printable ASCII (``$``, ``\\s`` and ``\\d`` differ between the engines beyond it) or
over long text, an integer written as a float, a number beyond 2**53, and enum or const values
of different JSON types. tests/descriptor/test_schema_check.py compares it with jsonschema-rs.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

_ANNOTATIONS = frozenset({"description", "default", "title", "$schema", "$id", "examples"})
_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "minItems",
        "propertyNames",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "enum",
        "const",
    }
)
_PRINTABLE_ASCII = re.compile("[\x20-\x7e]*")
_MAX_PATTERN_TEXT = 4096  # longer text goes to jsonschema-rs (its regex engine has limits)
_EXACT_FLOAT = 2.0**53


def certainly_valid(value: Any, schema: Any) -> bool:
    """True only if ``value`` is valid against ``schema`` (False: invalid or not sure)."""
    if schema is True:
        return True
    if not isinstance(schema, dict):
        return False
    if not _known(tuple(schema)):
        return False
    kind = schema.get("type")
    if kind is not None and not _has_type(value, kind):
        return False
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if isinstance(value, str):
        return _string_ok(value, schema)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return _number_ok(value, schema)
    if isinstance(value, dict):
        return _mapping_ok(value, schema)
    if isinstance(value, list):
        return _list_ok(value, schema)
    return False  # not a JSON value


@functools.cache
def _known(keys: tuple[str, ...]) -> bool:
    return all(k in _KEYWORDS or k in _ANNOTATIONS or k.startswith("x-") for k in keys)


def _has_type(value: Any, kind: Any) -> bool:
    if isinstance(kind, list):
        return any(_has_type(value, one) for one in kind)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "integer":  # 1.0 is an integer to JSON Schema: not sure, say so
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _same(value: Any, option: Any) -> bool:
    """Equal as JSON values, where Python's ``==`` surely agrees (True == 1 does not)."""
    if type(value) is not type(option) or not isinstance(value, str | bool | int | float):
        return value is None and option is None
    return bool(value == option)


def _string_ok(value: str, schema: dict[str, Any]) -> bool:
    # Lengths count code points, as len() does.
    if "minLength" in schema and len(value) < schema["minLength"]:
        return False
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    pattern = schema.get("pattern")
    if pattern is None:
        return True
    if len(value) > _MAX_PATTERN_TEXT or not _PRINTABLE_ASCII.fullmatch(value):
        return False
    compiled = _compiled(pattern)
    return compiled is not None and compiled.search(value) is not None


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _number_ok(value: float, schema: dict[str, Any]) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if abs(value) > _EXACT_FLOAT:
        return False
    limits = [schema.get(key) for key in _BOUNDS]
    if any(limit is not None and not _is_number(limit) for limit in limits):
        return False
    low, high, above, below = limits
    return not (
        (low is not None and value < low)
        or (high is not None and value > high)
        or (above is not None and value <= above)
        or (below is not None and value >= below)
    )


_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _mapping_ok(value: dict[Any, Any], schema: dict[str, Any]) -> bool:
    required = schema.get("required", ())
    if not all(key in value for key in required):
        return False
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for key, item in value.items():
        if not isinstance(key, str):
            return False
        if names is not None and not certainly_valid(key, names):
            return False
        child = properties.get(key, extra)
        if child is not True and not certainly_valid(item, child):
            return False
    return True


def _list_ok(value: list[Any], schema: dict[str, Any]) -> bool:
    if "minItems" in schema and len(value) < schema["minItems"]:
        return False
    items = schema.get("items", True)
    if items is True:
        return True
    if not isinstance(items, dict):  # the tuple form: not sure
        return False
    return all(certainly_valid(item, items) for item in value)
