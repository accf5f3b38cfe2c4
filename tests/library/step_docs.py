"""The ``vars/<step>.txt`` help pages, generated from ``resources/jenkinsbridge/steps.json`` (the
table the steps themselves check their keys against), so the docs cannot drift from the code.

    .venv/bin/python -m tests.library.step_docs     # rewrite vars/*.txt
"""

from __future__ import annotations

import html
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
    """The help page Jenkins shows under Pipeline Syntax (HTML) for ``step``."""
    lines = [
        "<!-- Generated from resources/jenkinsbridge/steps.json by tests/library/step_docs.py. -->",
        f"<p><code>{step}(key: value, ...)</code>: {html.escape(spec['summary'], quote=False)}</p>",
        "<p>An unknown, missing or mistyped key stops the build with one message.</p>",
        "<dl>",
    ]
    for key, item in sorted(spec["keys"].items()):
        lines.append(
            f"<dt><code>{key}</code> ({item['type']}, default: "
            f"{html.escape(_default(item), quote=False)})</dt>"
        )
        lines.append(
            f"<dd>{html.escape(item['description'], quote=False)} "
            f"Example: <code>{key}: {html.escape(_example(item), quote=False)}</code></dd>"
        )
    lines.append("</dl>")
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
