"""The committed generated reference pages match their sources (schema, click commands), and
every error code the package can report has a row in the troubleshooting page."""

from __future__ import annotations

import re

import pytest

from tests.docs.reference_pages import PAGES, REGENERATE, ROOT


@pytest.mark.parametrize("relative", sorted(PAGES))
def test_generated_page_is_current(relative: str) -> None:
    committed = (ROOT / relative).read_text(encoding="utf-8")
    assert committed == PAGES[relative](), f"{relative} is stale: regenerate with `{REGENERATE}`"


def test_cli_reference_lists_every_command_and_option() -> None:
    import click

    from jenkins_bridge.cli import COMMANDS, cli

    page = (ROOT / "docs/reference/cli.md").read_text(encoding="utf-8")
    ctx = click.Context(cli, info_name="jenkins-bridge")
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert f"{{#{name}}}" in page, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert f"`{opt}" in page or f", {opt}" in page or f"/{opt}" in page, opt


def test_every_error_code_is_in_troubleshooting() -> None:
    page = (ROOT / "docs/troubleshooting.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([a-z-]+)` \|", page, re.MULTILINE))
    codes = {
        match
        for path in (ROOT / "jenkins_bridge").rglob("*.py")
        for match in re.findall(r'^    code = "([a-z-]+)"$', path.read_text(encoding="utf-8"), re.M)
    }
    assert codes, "no error codes found: the pattern no longer matches errors.py"
    missing = sorted(codes - listed)
    assert not missing, f"add a row to docs/troubleshooting.md for each error code: {missing}"
    stale = sorted(listed - codes)
    assert not stale, f"docs/troubleshooting.md lists codes the package no longer has: {stale}"
