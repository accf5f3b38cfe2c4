"""``image build|push`` answered by the fast path end the process with ``os._exit`` once
stdout and stderr are flushed, skipping the interpreter's tear-down, but only when no thread
or exit handler is left; what a caller sees (stdout, stderr, exit code) is the same as with
the usual exit, in success and in failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_numbered_services
from test_fast_path import FAKE_DOCKER

# Runs the console script's main() with the given arguments; os._exit reports itself on stderr.
# With "atexit" as the first argument an exit handler is registered first: the quick exit
# must then not be taken (the handler would never run), and the usual exit gives the reference.
_SCRIPT = """\
import atexit, os, sys
real_exit = os._exit
def reporting_exit(code):
    sys.stderr.write(f"<os._exit {code}>\\n")
    sys.stderr.flush()
    real_exit(code)
os._exit = reporting_exit
args = sys.argv[1:]
if args[0] == "atexit":
    args = args[1:]
    atexit.register(lambda: sys.stderr.write("<atexit>\\n"))
sys.argv = ["jenkins-bridge", *args]
from jenkins_bridge.__main__ import main
main()
"""

_FAILING_DOCKER = """\
#!/bin/sh
echo "Step 1/1 : FROM nothing-here"
echo "ERROR: pull access denied for nothing-here" >&2
exit 1
"""


def _workspace(tmp_path: Path, docker: str) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(docker)
    (bin_dir / "docker").chmod(0o755)
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    descriptor = tmp_path / "service.yaml"
    descriptor.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        "metadata: {name: app, team: qa}\n"
        "source: {repo: 'https://git.example.com/qa/app.git'}\n"
        "image: {repository: '127.0.0.1:5000/qa/app'}\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JENKINS_BRIDGE_")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GIT_COMMIT": "f" * 40,
        "SOURCE_DATE_EPOCH": "1700000000",
    }
    return descriptor, env


def _run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, *args], capture_output=True, text=True, env=env
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_built_image_exits_at_once_with_the_same_output(tmp_path: Path, output: str) -> None:
    descriptor, env = _workspace(tmp_path, FAKE_DOCKER)
    args = ["--output", output, "image", "build", str(descriptor)]
    code, out, err = _run(args, env)
    assert code == 0 and err.endswith("<os._exit 0>\n")
    assert "127.0.0.1:5000/qa/app:ffffffffffff" in out
    # the usual exit (an exit handler is registered, so no quick exit) prints the same
    assert _run(["atexit", *args], env) == (0, out, err.replace("<os._exit 0>\n", "<atexit>\n"))


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_failed_build_exits_at_once_with_its_exit_code_and_report(
    tmp_path: Path, output: str
) -> None:
    descriptor, env = _workspace(tmp_path, _FAILING_DOCKER)
    args = ["--output", output, "image", "build", str(descriptor)]
    code, out, err = _run(args, env)
    assert code != 0 and err.endswith(f"<os._exit {code}>\n")
    assert "pull access denied" in out + err
    assert _run(["atexit", *args], env) == (
        code,
        out,
        err.replace(f"<os._exit {code}>\n", "<atexit>\n"),
    )


def test_other_commands_exit_as_usual(tmp_path: Path) -> None:
    descriptor, env = _workspace(tmp_path, FAKE_DOCKER)
    code, out, err = _run(["validate", str(descriptor)], env)
    assert (code, out, err) == (0, "1 descriptor valid\n", "")


@pytest.mark.parametrize("count", [3, 450])  # 450: through the process pool
def test_render_exits_at_once_after_the_exit_handlers(tmp_path: Path, count: int) -> None:
    src = write_numbered_services(tmp_path / "src", count, teams=3)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JENKINS_BRIDGE_")}
    code, text, err = _run(["render", str(src), "-o", str(out)], env)
    # (the pool's workers end with os._exit too, as multiprocessing's do, before the parent)
    assert code == 0 and set(err.splitlines()) == {"<os._exit 0>"}
    files = 2 * count + 4  # Jenkinsfile and config.xml each, 3 folder.xml, the manifest
    assert text == (
        f"rendered {count} service(s) into {out}: {files} written, 0 unchanged, 0 removed\n"
    )
    # an exit handler (multiprocessing registers one) runs first, as in the usual exit
    code, text, err = _run(["atexit", "render", str(src), "-o", str(out), "--check"], env)
    assert code == 0 and err.endswith("<atexit>\n<os._exit 0>\n") and err.count("<atexit>") == 1
    assert text == f"{out} is up to date ({files} files)\n"
    (src / "team-0" / "broken.yaml").write_text("metadata: [\n")
    code, text, err = _run(["render", str(src), "-o", str(out)], env)
    assert code == 1 and text == "" and "broken.yaml" in err and err.endswith("<os._exit 1>\n")
