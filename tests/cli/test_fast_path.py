"""validate without click: the fast path answers a plain ``validate PATH...`` exactly as the
click path does (stdout, stderr and exit code, text and JSON), and everything else still goes
through click."""

from __future__ import annotations

import json
import os
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
        ["render", "a.yaml"],  # render has its own fast path (below); not without -o
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


# -- image build / image push ----------------------------------------------------------------

_BUILT = {
    "repository": "127.0.0.1:5000/team/app",
    "tags": ("abc1234", "main-7"),
    "labels": {"b": "2", "a": "1"},
    "image_id": "sha256:" + "1" * 64,
}


def _fake_image_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object, object]]:
    """containers.build's build_image/push_image replaced: they record what they were given."""
    from jenkins_bridge.containers import build as image_build
    from jenkins_bridge.containers.build import ImageResult

    calls: list[tuple[str, object, object]] = []

    def build_image(descriptor: Path, **options: object) -> ImageResult:
        options.pop("log")
        calls.append(("build", descriptor, options))
        return ImageResult(**_BUILT)  # type: ignore[arg-type]

    def push_image(descriptor: Path, **options: object) -> ImageResult:
        options.pop("log")
        calls.append(("push", descriptor, options))
        return ImageResult(**{**_BUILT, "digest": "sha256:" + "2" * 64})  # type: ignore[arg-type]

    monkeypatch.setattr(image_build, "build_image", build_image)
    monkeypatch.setattr(image_build, "push_image", push_image)
    return calls


IMAGE_LINES = [
    ["image", "build", "svc.yaml"],
    ["image", "build", "svc.yaml", "--push", "--no-cache", "--tag", "v1", "--tag=latest"],
    ["image", "build", "--cache-from", "a:1", "svc.yaml", "--cache-from=b:2"],
    ["image", "build", "svc.yaml", "--build-arg", "A=1", "--build-arg=B=x=y", "--build-arg", "A=2"],
    ["image", "build", "svc.yaml", "--build-arg", "NOEQUALS"],  # our usage error, both paths
    ["image", "push", "svc.yaml"],
    ["image", "push", "svc.yaml", "--tag", "v1", "--tag=v2"],
]


@pytest.mark.parametrize("args", IMAGE_LINES, ids=" ".join)
@pytest.mark.parametrize("mode", [[], ["--output", "json"]])
def test_image_fast_and_click_paths_print_and_pass_the_same(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    mode: list[str],
) -> None:
    calls = _fake_image_calls(monkeypatch)
    fast_result = _run(capsys, monkeypatch, [*mode, *args], click=False)
    fast_calls = list(calls)
    calls.clear()
    click_result = _run(capsys, monkeypatch, [*mode, *args], click=True)
    assert fast_result == click_result
    assert fast_calls == calls


@pytest.mark.parametrize(
    "args",
    [
        ["image"],
        ["image", "build"],  # click reports the missing argument
        ["image", "build", "--help"],
        ["image", "build", "a.yaml", "b.yaml"],
        ["image", "build", "a.yaml", "--tag"],
        ["image", "build", "a.yaml", "--tag", "--push"],
        ["image", "build", "a.yaml", "--push=yes"],
        ["image", "build", "a.yaml", "-x"],
        ["image", "build", "a.yaml", "--", "b"],
        ["image", "push", "a.yaml", "--push"],
        ["image", "tag", "a.yaml"],
        ["image", "build", "."],  # a folder: click says why it is not a descriptor
    ],
)
def test_anything_but_a_plain_image_line_goes_to_click(args: list[str]) -> None:
    assert fast.fast_call(args) is None


FAKE_DOCKER = """\
#!/bin/sh
# Answers what DockerCli asks: build writes the image id, inspect prints labels.
if [ "$1" = build ]; then
  while [ $# -gt 0 ]; do
    if [ "$1" = --iidfile ]; then printf 'sha256:%064d' 7 > "$2"; fi
    shift
  done
  echo "Successfully built 0000000007"
  exit 0
fi
if [ "$1" = image ]; then echo '{"org.opencontainers.image.title":"app"}'; exit 0; fi
exit 1
"""


def test_image_build_through_the_docker_cli_imports_neither_click_nor_docker_py(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER)
    (bin_dir / "docker").chmod(0o755)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    descriptor = tmp_path / "service.yaml"
    descriptor.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        "metadata: {name: app, team: qa}\n"
        "source: {repo: 'https://git.example.com/qa/app.git'}\n"
        "image: {repository: '127.0.0.1:5000/qa/app'}\n"
    )
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        f"rc = main(['image', 'build', {str(descriptor)!r}]);"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'click', 'docker', 'requests'};"
        "print(rc, sorted(loaded), file=sys.stderr)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JENKINS_BRIDGE_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GIT_COMMIT": "f" * 40,
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stdout == "127.0.0.1:5000/qa/app:ffffffffffff\n"
    assert proc.stderr.strip().splitlines()[-1] == "0 []"


# -- render / render --check ------------------------------------------------------------------


def _render_both(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    outs: tuple[Path, Path],
) -> tuple[int, str, str]:
    """``args`` (with OUT for the output folder) through the fast path into ``outs[0]`` and
    through click into ``outs[1]``: the same result, with the folder's name put back."""
    results = []
    for out, click in zip(outs, (False, True), strict=True):
        line = [a.replace("OUT", str(out)) for a in args]
        code, stdout, stderr = _run(capsys, monkeypatch, line, click=click)
        results.append((code, stdout.replace(str(out), "OUT"), stderr.replace(str(out), "OUT")))
    assert results[0] == results[1]
    return results[0]


def _tree(out: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".jenkins-bridge-cache" not in p.parts
    }


@pytest.mark.parametrize("mode", [[], ["--output", "json"]])
def test_render_fast_and_click_paths_print_and_write_the_same(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    mode: list[str],
) -> None:
    import shutil

    descriptors = tmp_path / "descriptors"
    shutil.copytree(ROOT / "examples", descriptors)
    outs = (tmp_path / "out-a", tmp_path / "out-b")
    src = str(descriptors)
    # a full render, nothing to do, a clean check
    assert _render_both(capsys, monkeypatch, [*mode, "render", src, "-o", "OUT"], outs)[0] == 0
    assert _render_both(capsys, monkeypatch, ["render", src, "--out=OUT", *mode], outs)[0] == 0
    assert (
        _render_both(capsys, monkeypatch, [*mode, "render", "--check", src, "-o", "OUT"], outs)[0]
        == 0
    )
    # one descriptor edited: a stale check (diff, exit 2), then the incremental render
    target = descriptors / "platform" / "ledger.yaml"
    text = target.read_text()
    assert "ledger" in text
    target.write_text(text.replace("ledger", "ledger2", 1))
    code, stdout, _ = _render_both(
        capsys, monkeypatch, [*mode, "render", src, "-o", "OUT", "--check"], outs
    )
    assert code == 2 and "ledger2" in stdout
    assert _render_both(capsys, monkeypatch, [*mode, "render", src, "-o", "OUT"], outs)[0] == 0
    # a file edited by hand in the output, then --force
    for out in outs:
        (out / "platform" / "portal" / "Jenkinsfile").write_text("edited\n")
    assert (
        _render_both(capsys, monkeypatch, [*mode, "render", src, "-o", "OUT", "--force"], outs)[0]
        == 0
    )
    assert _tree(outs[0]) == _tree(outs[1]) != {}
    # both paths give render_run the same options: each reuses all the other one rendered
    for out, click in ((outs[0], True), (outs[1], False)):
        line = ["--output", "json", "render", src, "-o", str(out)]
        code, stdout, _ = _run(capsys, monkeypatch, line, click=click)
        data = json.loads(stdout)["data"]
        assert code == 0 and data["reused"] == data["services"] > 0
    # an invalid descriptor: the same problems, exit 1
    target.write_text("apiVersion: jenkins-bridge/v1\nkind: Service\n")
    code, _, stderr = _render_both(capsys, monkeypatch, [*mode, "render", src, "-o", "OUT"], outs)
    assert code == 1 and ("metadata" in stderr or mode)


@pytest.mark.parametrize(
    "args",
    [
        ["render", "a.yaml"],  # click reports the missing option
        ["render", "-o", "out"],  # and the missing argument
        ["render", "a.yaml", "-o"],
        ["render", "a.yaml", "-o", "out", "-o", "other"],
        ["render", "a.yaml", "-o", "--check"],
        ["render", "a.yaml", "-oout"],
        ["render", "a.yaml", "-o", "out", "--check", "--check"],
        ["render", "a.yaml", "-o", "out", "--plugins", "p.yaml"],
        ["render", "a.yaml", "-o", "out", "--workers", "2"],
        ["render", "a.yaml", "-o", "out", "--library-repo", "https://git.example.com/l.git"],
        ["render", "a.yaml", "-o", "out", "--help"],
        ["render", "a.yaml", "-o", "out", "--", "b.yaml"],
        ["render", "a.yaml", "-o", "out", "--check=yes"],
    ],
)
def test_anything_but_a_plain_render_goes_to_click(args: list[str]) -> None:
    assert fast.fast_call(args) is None


def test_plain_render_lines_take_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for line in (
        ["render", "a.yaml", "-o", "out"],
        ["render", "--check", "a", "b", "--out", "out"],
        ["render", "a", "--out=out", "--force", "--check"],
    ):
        assert fast.fast_call(line) is not None, line
    # what click.Path would refuse, and library options from the environment, go to click
    (tmp_path / "file").write_text("")
    assert fast.fast_call(["render", "a.yaml", "-o", str(tmp_path / "file")]) is None
    monkeypatch.setenv("JENKINS_BRIDGE_LIBRARY_SCOPE", "global")
    assert fast.fast_call(["render", "a.yaml", "-o", "out"]) is None


def test_render_output_that_is_a_file_reads_the_same_through_click(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    assert main(["render", str(ROOT / "examples"), "-o", str(tmp_path / "file")]) == 1
    assert "is a file" in capsys.readouterr().err


def test_plain_render_check_imports_no_click(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = (
        "import sys; from jenkins_bridge.cli import main;"
        f"rc = main(['render', '--check', {str(ROOT / 'examples')!r}, '-o', {str(out)!r}]);"
        "loaded = {'click', 'jenkins_bridge.cli.app'} & set(sys.modules);"
        "print(rc, sorted(loaded), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stderr.strip().splitlines()[-1] == "2 []", proc.stderr


def test_plain_render_imports_its_modules_without_a_collection(tmp_path: Path) -> None:
    """The render stack's ~33,000 objects live as long as the process: no cyclic collection
    runs from the first of its modules (job_config) to the last (workspace), and the collector
    is on again after."""
    out = tmp_path / "out"
    code = (
        "import gc, sys; from jenkins_bridge.cli import main;"
        "seen = [];"
        "gc.callbacks.append(lambda phase, info: phase == 'start' and seen.append("
        "'jenkins_bridge.render.job_config' in sys.modules"
        " and 'jenkins_bridge.output.workspace' not in sys.modules));"
        f"rc = main(['render', '--check', {str(ROOT / 'examples')!r}, '-o', {str(out)!r}]);"
        "print(rc, sum(seen), len(seen) > 0, gc.isenabled(), file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stderr.strip().splitlines()[-1] == "2 0 True True", proc.stderr


def test_render_freezes_what_it_imported_and_only_then() -> None:
    """What render's imports made is left out of collections; with nothing to import (a
    second render in one process, as in tests) the objects alive are not moved there."""
    import gc
    import importlib

    gc.unfreeze()
    with fast.imports_uncollected():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    sys.modules.pop("colorsys", None)
    with fast.imports_uncollected():
        importlib.import_module("colorsys")
    assert gc.isenabled() and gc.get_freeze_count() > 0
    gc.unfreeze()
