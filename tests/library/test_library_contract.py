"""The shared library's contracts, checked without Jenkins: every step has its help page,
generated from the same key table the step checks (so docs and code cannot drift), and
every ``jenkins-bridge`` command and flag a step can emit exists in the CLI's own parser."""

from __future__ import annotations

import html
import re

import click
import pytest
from conftest import groovy_facts

from jenkins_bridge import __version__
from jenkins_bridge.cli import cli
from tests.library.step_docs import ROOT, VARS, expected_pages, load_table

SRC = ROOT / "src"


def _steps() -> list[str]:
    return sorted(p.stem for p in VARS.glob("*.groovy"))


def test_every_step_has_its_table_entry_and_an_up_to_date_help_page() -> None:
    table = load_table()
    assert sorted(table["steps"]) == _steps()
    for path, text in expected_pages().items():
        assert path.exists(), f"{path.name} missing: run python -m tests.library.step_docs"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python -m tests.library.step_docs"
        )


def test_the_library_version_is_the_cli_version() -> None:
    assert load_table()["version"] == __version__


@pytest.mark.parametrize("step", _steps())
def test_each_step_is_a_call_with_a_config_map_and_reads_only_declared_keys(step: str) -> None:
    text = (VARS / f"{step}.groovy").read_text(encoding="utf-8")
    assert re.search(r"^\w+ call\(Map config = \[:\]\) \{$", text, re.M), step
    assert f"new Bridge(this, '{step}')" in text, "the step does not check its keys"
    declared = set(load_table()["steps"][step]["keys"])
    read = set(re.findall(r"\bconfig\.(\w+)", text))
    assert read <= declared, read - declared
    help_page = (VARS / f"{step}.txt").read_text(encoding="utf-8")
    for key in declared:
        assert f"\n- {key} (" in help_page


def _plain_text_formatter(text: str) -> str:
    """hudson.markup.EscapedMarkupFormatter: Util.escape, which escapes markup and turns each
    newline into <br>."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def _html_formatter(text: str) -> str:
    """An HTML formatter (OWASP Markup Formatter) as a browser shows its output: tags kept,
    runs of whitespace (newlines included) one space."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("step", _steps())
def test_each_help_page_reads_under_both_markup_formatters(step: str) -> None:
    """pipeline-groovy-lib shows vars/<step>.txt through the controller's markup formatter."""
    page = (VARS / f"{step}.txt").read_text(encoding="utf-8")
    keys = sorted(load_table()["steps"][step]["keys"])
    # plain text: no tag or entity shows raw, and each key is a line of its own
    assert not re.search(r"<[A-Za-z!/]|&#?\w+;", page)
    shown = _plain_text_formatter(page).split("<br>")
    assert [line.split(" (")[0] for line in shown if line.startswith("- ")] == [
        f"- {k}" for k in keys
    ]
    # HTML: the lines run together, and every entry still starts with its "- key ("
    joined = _html_formatter(page)
    assert "<" not in joined
    positions = [joined.index(f" - {k} (") for k in keys]
    assert positions == sorted(positions)


def _cli_lines() -> list[str]:
    """Every shell line of vars/ and src/ that runs the CLI, adjacent literals joined."""
    lines = []
    for path in sorted([*VARS.glob("*.groovy"), *SRC.rglob("*.groovy")]):
        text = re.sub(r"'\s*\+\s*'", "", path.read_text(encoding="utf-8"))
        lines += re.findall(r"'(\"\$BRIDGE_CLI\" [^']*)'", text)
    return lines


def _emitted() -> dict[str, set[str]]:
    """Command path ('image build') -> the flags the steps can pass to it."""
    emitted: dict[str, set[str]] = {}
    for line in _cli_lines():
        words = line.split()
        assert words[:3] == ['"$BRIDGE_CLI"', "--output", "json"], line
        path = []
        for word in words[3:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            path.append(word)
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", " ".join(words[3:])))
        emitted.setdefault(" ".join(path), set()).update(flags)
    return emitted


def test_the_steps_run_the_cli_as_expected() -> None:
    assert sorted(_emitted()) == ["deploy", "image build", "image push", "rollback", "validate"]


def _command(path: str) -> click.Command | None:
    command: click.Command | None = cli
    ctx = click.Context(cli)
    for name in path.split():
        if not isinstance(command, click.Group):
            return None
        command = command.get_command(ctx, name)
        if command is None:
            return None
    return command


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")}


def _in_parser(path: str) -> bool:
    command = _command(path)
    return command is not None and bool(command.params)


@pytest.mark.parametrize("path", sorted(_emitted()))
def test_every_command_and_flag_a_step_emits_exists_in_the_cli(path: str) -> None:
    # Read from the CLI's own parser now: `deploy`/`rollback` come with the deploy issue
    # (not merged on this branch); until the parser has them this is an expected failure,
    # and once it does the check runs unchanged.
    if not _in_parser(path) and path in ("deploy", "rollback"):
        pytest.xfail(f"'{path}' is not in the CLI's parser yet (deploy issue not merged)")
    assert "--output" in _options(cli)
    command = _command(path)
    assert command is not None, f"the CLI has no command '{path}'"
    missing = _emitted()[path] - _options(command)
    assert not missing, f"'{path}' has no option {sorted(missing)}"


@pytest.mark.groovy
def test_library_code_parses_with_groovy_24_and_builds_no_shell_text_from_values() -> None:
    files = sorted([*VARS.glob("*.groovy"), *SRC.rglob("*.groovy")])
    facts = groovy_facts(files)
    for path in files:
        entry = facts[str(path)]
        assert entry["ok"], (path.name, entry.get("error"))
        for text in entry["gstrings"]:
            # GStrings only make messages and file names, never a command line.
            assert "--" not in text and '"$' not in text and "docker" not in text, text
    commands = [s for path in files for s in facts[str(path)]["strings"] if "$BRIDGE_" in s]
    assert len(commands) >= 8  # the command lines are constants: values come through env


SANDBOX_REJECTS = ("getClass", "JsonSlurper", "JsonOutput", "new File", "evaluate(", "Eval.")


def test_library_code_uses_nothing_the_groovy_sandbox_rejects_or_needs_approved() -> None:
    # Folder libraries are untrusted: their steps and src/ classes run in the sandbox.
    for path in sorted([*VARS.glob("*.groovy"), *SRC.rglob("*.groovy")]):
        code = "\n".join(
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith(("//", "*", "/*"))
        )
        found = [word for word in SANDBOX_REJECTS if word in code]
        assert not found, (path.name, found)
