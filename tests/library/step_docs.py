"""The ``vars/<step>.txt`` help pages, generated from ``resources/jenkinsbridge/steps.json`` (the
table the steps themselves check their keys against), so the docs cannot drift from the code.

Jenkins passes a page through the controller's markup formatter (pipeline-groovy-lib
``UserDefinedGlobalVariable.getHelpHtml``): the default plain-text formatter escapes every tag
and turns each newline into a line break; an HTML formatter keeps tags and joins the lines. So
a page is plain text with no markup, one key a line, each line a sentence starting "- ":
one entry per line under the first, entries still told apart in one paragraph under the second.

    .venv/bin/python -m tests.library.step_docs     # rewrite vars/*.txt
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
TABLE = ROOT / "resources" / "jenkinsbridge" / "steps.json"
VARS = ROOT / "vars"


def load_table() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return table


def _default(spec: dict[str, Any]) -> str:
    if spec.get("required"):
        return "required"
    value = spec.get("default")
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_help(step: str, spec: dict[str, Any]) -> str:
    """The help page Jenkins shows under Pipeline Syntax for ``step`` (plain text, see above)."""
    lines = [
        f"{step}(key: value, ...): {spec['summary']}",
        "",
        "An unknown, missing or mistyped key stops the build with one message. The keys:",
        "",
    ]
    for key, item in sorted(spec["keys"].items()):
        lines.append(
            f"- {key} ({item['type']}, default: {_default(item)}): {item['description']} "
            f"Example: {key}: {_example(item)}"
        )
    return "\n".join(lines) + "\n"


def _example(item: dict[str, Any]) -> str:
    example = str(item["example"])
    if item["type"] == "String" and not example.endswith(")"):
        return "'" + example + "'"
    return example


def expected_pages() -> dict[Path, str]:
    table = load_table()
    return {VARS / f"{step}.txt": render_help(step, spec) for step, spec in table["steps"].items()}


def main() -> None:
    for path, text in expected_pages().items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
