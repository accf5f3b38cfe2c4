"""validate without click: the fast path answers a plain ``validate PATH...`` exactly as the
click path does (stdout, stderr and exit code, text and JSON), and everything else still goes
through click."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

import jenkins_bridge.cli.fast as fast
from jenkins_bridge.cli import main

ERROR_CASES = sorted(p.name for p in GOLDEN.iterdir() if p.name.startswith("err-"))


def _run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    *,
    click: bool,
) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``main(args)``; with ``click``, the fast path is off."""
    calls: list[object] = []
    real = fast.fast_call

    def spy(argv: list[str]) -> object:
        call = None if click else real(argv)
        calls.append(call)
        return call

    with monkeypatch.context() as patched:
        patched.setattr(fast, "fast_call", spy)
        capsys.readouterr()
        code = main(args)
        out, err = capsys.readouterr()
    assert calls and (calls[0] is None) == click, "the path asked for was not the one taken"
    return code, out, err


def _cases() -> Iterator[list[str]]:
    yield [str(GOLDEN / "minimal" / "hello.yaml")]
    yield [str(ROOT / "examples")]  # several files, _defaults.yaml chains
    yield [str(ROOT / "examples" / "platform" / "ledger.yaml"), "/no/such/file.yaml"]
    for name in ERROR_CASES:
        yield [str(GOLDEN / name)]


@pytest.mark.parametrize("paths", list(_cases()), ids=lambda p: Path(p[0]).name)
@pytest.mark.parametrize("mode", [[], ["--output", "json"], ["--no-color", "--output=json"]])
def test_fast_and_click_paths_print_the_same(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    paths: list[str],
    mode: list[str],
) -> None:
    args = [*mode, "validate", *paths]
    fast_result = _run(capsys, monkeypatch, args, click=False)
    click_result = _run(capsys, monkeypatch, args, click=True)
    assert fast_result == click_result
    # The global options may follow the command too.
    assert _run(capsys, monkeypatch, ["validate", *paths, *mode], click=False) == fast_result


def test_error_cases_are_refused_on_the_fast_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The comparison above would pass if both paths accepted everything: they do not.
    for name in ERROR_CASES:
        code, out, err = _run(capsys, monkeypatch, ["validate", str(GOLDEN / name)], click=False)
        assert code == 1 and out == "" and err, name


@pytest.mark.parametrize(
    "args",
    [
        ["validate"],  # click reports the missing argument
        ["validate", "--help"],
        ["validate", "-x", "a.yaml"],
        ["validate", "--", "a.yaml"],
        ["--output", "xml", "validate", "a.yaml"],  # click reports the invalid choice
        ["--output", "json", "--output", "text", "validate", "a.yaml"],
        ["--no-color", "--no-color", "validate", "a.yaml"],
        ["render", "a.yaml", "-o", "out"],
        ["--help"],
        [],
    ],
)
def test_anything_but_a_plain_validate_goes_to_click(args: list[str]) -> None:
    assert fast.fast_call(args) is None


def test_shell_completion_goes_to_click(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast.fast_call(["validate", "a.yaml"]) is not None
    monkeypatch.setenv("_JENKINS_BRIDGE_COMPLETE", "bash_source")
    assert fast.fast_call(["validate", "a.yaml"]) is None


def test_usage_errors_read_the_same_through_click(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # What click reports (missing argument, bad option value) still comes out as before.
    assert main(["validate"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "error: Missing argument 'PATHS...'.\n"
    assert main(["--output", "json", "--output", "xml", "validate", "x"]) == 1
    assert '"status": "usage"' in capsys.readouterr().out


def test_plain_validate_imports_neither_click_nor_the_model() -> None:
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        f"rc = main(['validate', {str(GOLDEN / 'minimal' / 'hello.yaml')!r}]);"
        "loaded = {'click', 'jenkins_bridge.cli.app', 'jenkins_bridge.descriptor.model'};"
        "print(rc, sorted(loaded & set(sys.modules)), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout == "1 descriptor valid\n"
    assert proc.stderr.strip() == "0 []"
