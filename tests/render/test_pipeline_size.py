"""Render refuses, with one located message, a descriptor whose Jenkinsfile Jenkins could not
compile: under the CPS transform a pipeline of ~140 test stages (or 100 tests and 10 approved
environments) exceeds the JVM's 65,535 bytes of code in a method, and ~750 KB of escape-heavy
resolved JSON its 65,535 constants in a class (``render/jenkinsfile.py`` has the model; the
real transformer checks it in ``test_sandbox_compile.py``). The builders here make the
descriptors at the limits for both files."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output.run import render_run
from jenkins_bridge.render.jenkinsfile import TooLargeForJenkins, render_jenkinsfile
from jenkins_bridge.testing import JenkinsEmulator


def pipeline_yaml(tests: int, approvals: int = 0, *, multibranch: bool = False) -> str:
    """A descriptor with ``tests`` test stages and ``approvals`` approved Swarm environments,
    in the template's largest variant otherwise (label agent, credentials, triggers, notify)."""
    lines = [
        "apiVersion: jenkins-bridge/v1",
        "kind: Service",
        "metadata: {name: big, team: t}",
        "source: {repo: 'https://git.example.com/t/big.git', credentialsId: git-ssh}",
        "pipeline:",
        f"  jobType: {'multibranch' if multibranch else 'pipeline'}",
        "  agent: linux && docker",
        "  triggers: {poll: 'H/5 * * * *', cron: 'H 2 * * *'}",
        "  notify: {email: t@example.com}",
        "  test:" if tests else "  test: []",
        *(f"    - {{name: test-{i:03d}, run: 'make test-{i:03d}'}}" for i in range(tests)),
        "image: {repository: registry.example.com/t/big}",
        "runtime: {port: 8080}",
        "deploy:" if approvals else "deploy: []",
    ]
    for i in range(approvals):
        lines += [
            f"  - environment: env-{i:03d}",
            "    target: swarm",
            "    network: host",  # an overlay would need a listen address each
            "    approval: {submitter: leads, timeoutMinutes: 60}",
        ]
    return "\n".join(lines) + "\n"


ENV_HEAD = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: bulky, team: t}
source: {repo: https://git.example.com/t/bulky.git}
runtime:
  port: 8080
  env:
"""


def escapes_yaml(entries: int, seed: int = 1) -> str:
    """``entries`` runtime.env values of 680 quotes and backslashes, no two alike: the JSON
    that takes the most literals (constants) per byte."""
    chars = random.Random(seed)
    values = ("".join(chars.choice("\\'") for _ in range(680)) for _ in range(entries))
    return ENV_HEAD + "".join(f"    V{i:05d}: {json.dumps(v)}\n" for i, v in enumerate(values))


def write(folder: Path, text: str) -> Path:
    path = folder / "t" / "big.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def service_of(folder: Path, text: str) -> Service:
    (service,) = load_services([write(folder, text)])
    return service


def renders(service: Service) -> bool:
    try:
        render_jenkinsfile(service)
    except TooLargeForJenkins:
        return False
    return True


def largest_accepted(make: Callable[[int], str], folder: Path, low: int, high: int) -> int:
    """The largest n in [low, high) for which render accepts ``make(n)`` (it must accept low
    and refuse high)."""
    assert renders(service_of(folder / f"n{low}", make(low)))
    assert not renders(service_of(folder / f"n{high}", make(high)))
    while high - low > 1:
        middle = (low + high) // 2
        if renders(service_of(folder / f"n{middle}", make(middle))):
            low = middle
        else:
            high = middle
    return low


def test_the_issues_pipelines_are_refused_at_the_part_responsible(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    for name, text, where in (
        ("tests", pipeline_yaml(140), "10:3"),  # `test:` under pipeline
        ("mixed", pipeline_yaml(100, 10), "10:3"),
        ("approvals", pipeline_yaml(2, 30, multibranch=True), "15:1"),  # `deploy:`
    ):
        descriptor = write(tmp_path / name, text)
        done = cli("render", str(tmp_path / name), "-o", str(tmp_path / f"out-{name}"))
        assert done.exit_code == 1, done.stdout
        (message,) = done.stderr.strip().splitlines()
        assert message.startswith(f"{descriptor}:{where}: the pipeline is too large for Jenkins")
        assert "'Method too large'" in message and "65,535" in message
        assert not (tmp_path / f"out-{name}").exists()


def test_escape_heavy_json_is_refused_at_the_bulk_before_jenkins_would(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    # ~780 KB of JSON: below the 1 MiB render takes, above what a class can hold
    descriptor = write(tmp_path / "bulky", escapes_yaml(760))
    done = cli("render", str(tmp_path / "bulky"), "-o", str(tmp_path / "out"))
    assert done.exit_code == 1
    (message,) = done.stderr.strip().splitlines()
    assert message.startswith(f"{descriptor}:7:3: the resolved descriptor is 78")  # `env:`
    assert "'Class too large'" in message and "class-file constants" in message
    assert not (tmp_path / "out").exists()


def test_a_value_from_team_defaults_is_located_in_the_defaults_file(tmp_path: Path) -> None:
    defaults = tmp_path / "t" / "_defaults.yaml"
    defaults.parent.mkdir(parents=True)
    tests = "".join(f"    - {{name: t{i}, run: make}}\n" for i in range(150))
    head = "apiVersion: jenkins-bridge/v1\nkind: Service\npipeline:\n  test:\n"
    defaults.write_text(head + tests)
    (tmp_path / "t" / "svc.yaml").write_text(
        "metadata: {name: svc, team: t}\nsource: {repo: https://git.example.com/t/s.git}\n"
        "runtime: {port: 8080}\n"
    )
    try:
        render_run([tmp_path], workers=1)
    except InvalidDescriptors as refused:
        (problem,) = refused.problems()
    else:
        raise AssertionError("render accepted 150 test stages")
    assert (problem.file, problem.line, problem.column) == (str(defaults), 4, 3)


def test_the_limits_sit_where_the_model_puts_them(tmp_path: Path) -> None:
    # Well under the JVM's limits under CPS (~133 test stages, ~740 of these entries), and not
    # far below them; test_sandbox_compile.py compiles the largest accepted ones.
    assert renders(service_of(tmp_path / "t110", pipeline_yaml(110)))
    assert not renders(service_of(tmp_path / "t133", pipeline_yaml(133)))
    assert renders(service_of(tmp_path / "e600", escapes_yaml(600)))
    assert not renders(service_of(tmp_path / "e740", escapes_yaml(740)))


@pytest.mark.usefixtures("library_repo")
def test_plan_refuses_it_located_before_touching_the_controller(
    tmp_path: Path, cli: Callable[..., CliResult], jenkins_env: JenkinsEmulator
) -> None:
    # a plain job's config.xml carries the Jenkinsfile: provisioning renders it too
    descriptor = write(tmp_path / "svc", pipeline_yaml(140))
    done = cli("plan", str(tmp_path / "svc"), "--max-rps", "0")
    assert done.exit_code == 1, done.stdout
    (message,) = done.stderr.strip().splitlines()
    assert message.startswith(f"{descriptor}:10:3: the pipeline is too large for Jenkins")
    assert jenkins_env.items == {}
