"""The descriptor reference (Markdown), generated from the schema so docs and code agree.

It is the body of docs/reference/descriptor.md, which ``tests/docs/reference_pages.py`` writes
(``make docs-reference``); a test fails when the committed page differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jenkins_bridge.descriptor.schema import SCHEMA


def _type(node: dict[str, Any]) -> str:
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    kind = node.get("type", "")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = node.get("items", {})
        return "list of mappings" if items.get("type") == "object" else "list"
    if kind == "object":
        return "mapping"
    return str(kind)


def _rows(node: dict[str, Any], prefix: str) -> Iterator[tuple[str, str, str, str]]:
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        default = child.get("default")
        shown = "" if default in (None, {}, []) else f"`{json.dumps(default)}`"
        # A default naming this release would make the docs stale at every release.
        shown = child.get("x-default-shown", shown)
        if name in required:
            shown = "**required**"
        yield path, _type(child), shown, child.get("description", "")
        if child.get("type") == "object" and "properties" in child:
            yield from _rows(child, f"{path}.")
        items = child.get("items", {})
        if child.get("type") == "array" and "properties" in items:
            yield from _rows(items, f"{path}[].")


def render_reference() -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for path, kind, default, meaning in _rows(SCHEMA, ""):
        lines.append(f"| `{path}` | {kind} | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render_reference(), end="")
