"""A generated Jenkinsfile carries the resolved descriptor (``resolvedDescriptor()``). Groovy 2.4
compiles a long ``'a' + 'b' + ...`` chain recursively and overflowed its stack near 1,100
literals (~100 KB); a class file holds 65,535 constants, and under Jenkins' CPS transform a
literal costs about four. Render splits a large descriptor into part methods, which compile
and return it exactly up to what render accepts (tried with the worst case: every literal
different and full of escapes, ~600 KB), and refuses more, located (the model and its limits
under the real transformer: tests/render/test_pipeline_size.py, test_sandbox_compile.py)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.jenkinsfile import MAX_RESOLVED_BYTES, render_jenkinsfile
from tests.library.harness import case, run_cases

HEAD = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: big, team: t}
source: {repo: https://git.example.com/t/big.git}
runtime:
  port: 8080
  env: &env
"""


def write_large(folder: Path, entries: int, value: Callable[[int], str], tail: str = "") -> Path:
    """``folder/t/big.yaml`` with ``entries`` runtime.env values (``value(i)``, as JSON)."""
    lines = [f"    V{i:05d}: {json.dumps(value(i))}" for i in range(entries)]
    path = folder / "t" / "big.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(HEAD + "\n".join(lines) + "\n" + tail, encoding="utf-8")
    return path


def escapes(seed: int) -> Callable[[int], str]:
    """Values of backslashes and quotes: each costs two characters of Groovy source, and no
    two literals are the same, so every one takes constants of its own."""
    chars = random.Random(seed)
    return lambda _: "".join(chars.choice("\\'") for _ in range(680))


@pytest.mark.groovy
def test_large_resolved_descriptors_compile_on_groovy_24_and_come_back_exact(
    tmp_path: Path,
) -> None:
    plain = write_large(tmp_path / "plain", 3000, lambda i: f"value-{i:05d}-" + "x" * 40)
    worst = write_large(tmp_path / "worst", 600, escapes(1))
    cases = []
    resolved = {}
    for name, descriptor in (("plain", plain), ("worst", worst)):
        (service,) = load_services([descriptor])
        resolved[name] = service.resolved
        jenkinsfile = tmp_path / f"{name}.Jenkinsfile"
        jenkinsfile.write_text(render_jenkinsfile(service), encoding="utf-8")
        cases.append(case(name, jenkinsfile))
    assert 150_000 < len(resolved["plain"]) < len(resolved["worst"]) <= MAX_RESOLVED_BYTES
    outcomes = run_cases(cases, tmp_path)
    for name, text in resolved.items():
        run = outcomes[name]
        assert run["result"] == "SUCCESS", run["log"]
        (written,) = [c["text"] for c in run["calls"] if c["step"] == "writeFile"]
        assert written == text


def test_render_refuses_a_descriptor_no_jenkinsfile_can_carry(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    # an alias repeats the values as build arguments: about 1.9 MB resolved, which compiled
    # as ~38,000 literals fails with Groovy's "Class too large" even without CPS; the message
    # points at the larger half (the alias, by a key's length)
    descriptor = write_large(
        tmp_path / "huge", 900, escapes(2), "image: {repository: r/big, buildArgs: *env}\n"
    )
    done = cli("render", str(tmp_path / "huge"), "-o", str(tmp_path / "out"))
    assert done.exit_code == 1
    assert done.stderr.startswith(f"{descriptor}:908:28: the resolved descriptor is 1,8")
    assert "more than the 1,048,576 render takes" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
