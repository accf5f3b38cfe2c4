"""Preflight requires the plugin of every step the builds call: each call in the library
(``vars/``, ``src/``) and in every golden and example Jenkinsfile is found here and must be in
``STEP_PLUGINS``, whose plugins ``required_plugins`` asks of the controller. A step added to the
library or the template without its plugin fails this test, not every build on a controller."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jenkins_bridge.provision.preflight import (
    BASE_PLUGINS,
    CORE,
    LIBRARY_PLUGIN,
    STEP_PLUGINS,
    MissingPlugins,
    check_plugins,
)

ROOT = Path(__file__).resolve().parent.parent.parent
LIBRARY = sorted([*ROOT.joinpath("vars").glob("*.groovy"), *ROOT.joinpath("src").rglob("*.groovy")])
JENKINSFILES = sorted(
    [
        *ROOT.joinpath("tests", "golden").rglob("Jenkinsfile"),
        *ROOT.joinpath("examples").rglob("Jenkinsfile"),
        ROOT / "Jenkinsfile",
    ]
)

# Groovy itself, not steps
KEYWORDS = {
    *[
        "if",
        "else",
        "for",
        "while",
        "switch",
        "case",
        "catch",
        "try",
        "finally",
        "return",
        "new",
        "def",
        "void",
        "in",
        "instanceof",
    ],
    *["assert", "throw", "super", "this", "call"],
}
# Strings and comments hold no calls (a shell script's `failed() {` is not a step).
_NOT_CODE = re.compile(
    r"'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|//[^\n]*|/\*.*?\*/",
    re.S,
)
# a call `name(`, a block `name {`, or a command expression `name 'x'` / `name true` at the
# start of a line; a step the library calls through its script object (`script.sh(`)
_CALL = re.compile(r"(?:(?<![\w.$])|(?<=\bscript\.))([a-z]\w*)\s*[({]")
_COMMAND = re.compile(r"^\s*([a-z]\w*)\s+(?:''|true\b|false\b|any\b|none\b|[a-z]\w*\s*[({])", re.M)
# methods the library and the Jenkinsfiles define themselves
_DEFINED = re.compile(r"\b(?:[A-Z]\w*(?:<[^>]*>)?|void|boolean|int|def)\s+([a-z]\w*)\s*\(")


def calls(path: Path) -> set[str]:
    code = _NOT_CODE.sub("''", path.read_text(encoding="utf-8"))
    found = {m[1] for m in _CALL.finditer(code)} | {m[1] for m in _COMMAND.finditer(code)}
    defined = {m[1] for m in _DEFINED.finditer(code)}
    library_steps = {p.stem for p in ROOT.joinpath("vars").glob("*.groovy")}
    return found - KEYWORDS - defined - library_steps


def test_the_scanner_finds_steps_and_ignores_strings(tmp_path: Path) -> None:
    sample = tmp_path / "Jenkinsfile"
    sample.write_text(
        "String f() { return 'x' }\n"
        "node('a') {\n"
        "    script.readJSON(text: f())  // echo('no')\n"
        "    sh '''failed() { exit 1; }'''\n"
        "    message 'go?'\n"
        "    if (x) { bridgeBuild() }\n"
        "}\n",
        encoding="utf-8",
    )
    assert calls(sample) == {"node", "readJSON", "sh", "message"}


@pytest.mark.parametrize("path", LIBRARY + JENKINSFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_step_called_has_its_plugin_required(path: Path) -> None:
    unknown = sorted(calls(path) - set(STEP_PLUGINS))
    assert not unknown, f"{path.name} calls {unknown}: add each to preflight.STEP_PLUGINS"


def test_the_library_reads_json_and_yaml_with_pipeline_utility_steps() -> None:
    used = set().union(*(calls(p) for p in LIBRARY))
    assert {"readJSON", "writeJSON", "readYaml"} <= used
    assert "pipeline-utility-steps" in BASE_PLUGINS


def test_every_plugin_of_a_step_is_required() -> None:
    assert set(STEP_PLUGINS.values()) - {CORE, LIBRARY_PLUGIN} <= set(BASE_PLUGINS)


def test_a_controller_without_pipeline_utility_steps_is_refused() -> None:
    installed = {name: "1.0" for name in BASE_PLUGINS if name != "pipeline-utility-steps"}
    with pytest.raises(MissingPlugins) as refused:
        check_plugins("http://127.0.0.1:8080", [], installed)
    assert refused.value.missing == ["pipeline-utility-steps"]
