"""Every Jenkinsfile we ship or generate compiles the way Jenkins compiles it: plain Groovy, the
CPS transform, and the sandboxed CPS transform of an untrusted script (groovy-cps and
script-security from ``../shared/jenkins-sandbox``; skipped where that is absent).

Render's size model (``render/jenkinsfile.py``) is checked against the real transformer at its
limits: the largest pipeline and resolved descriptor render accepts compile under sandbox+CPS,
and what it refuses for being too large really fails there ("Method too large", "Class too
large") while plain Groovy compiles it, so the limits are Jenkins', not ours.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.errors import InvalidDescriptors
from jenkins_bridge.output.run import render_run
from jenkins_bridge.render import jenkinsfile
from jenkins_bridge.render.jenkinsfile import render_jenkinsfile
from tests.render.test_pipeline_size import (
    escapes_yaml,
    largest_accepted,
    pipeline_yaml,
    service_of,
    write,
)
from tests.sandbox_runtime import compile_jenkinsfiles, needs_sandbox

pytestmark = [pytest.mark.sandbox, needs_sandbox]

MODES = ("plain", "cps", "sandbox+cps")
OVER: dict[str, list[str]] = {}  # what rendering one stage (entry) more than the limit said
_LINE = re.compile(r"^(?P<file>\S+) \[(?P<mode>[^\]]+)\] (?P<result>.*)$")


def compile_all(paths: list[Path]) -> dict[str, dict[str, str]]:
    """Each file's outcome per mode (``compiled (...)`` or ``FAILED: ...``), in one JVM."""
    names = [p.name for p in paths]
    assert len(set(names)) == len(names), "run.sh compile keys its output by base name"
    proc = compile_jenkinsfiles(paths)
    outcomes: dict[str, dict[str, str]] = {}
    for line in proc.stdout.splitlines():
        found = _LINE.match(line)
        if found and found["file"] in names:
            outcomes.setdefault(found["file"], {})[found["mode"]] = found["result"]
    missing = [n for n in names if set(outcomes.get(n, {})) != set(MODES)]
    assert not missing, f"no verdict for {missing}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return outcomes


def shipped_jenkinsfiles(folder: Path) -> Iterator[Path]:
    """Copies, under unique names, of every golden Jenkinsfile, one rendered from each example
    descriptor, and the repository's own Jenkinsfile."""
    for index, golden in enumerate(sorted(GOLDEN.glob("*/expected/**/Jenkinsfile"))):
        copy = folder / f"golden-{index:02d}-{golden.parent.name}.Jenkinsfile"
        shutil.copyfile(golden, copy)
        yield copy
    for service in load_services([ROOT / "examples"]):
        rendered = folder / f"example-{service.metadata.team}-{service.metadata.name}.Jenkinsfile"
        rendered.write_text(render_jenkinsfile(service), encoding="utf-8")
        yield rendered
    own = folder / "repository.Jenkinsfile"
    shutil.copyfile(ROOT / "Jenkinsfile", own)
    yield own


def test_every_golden_example_and_own_jenkinsfile_compiles_under_sandbox_cps(
    tmp_path: Path,
) -> None:
    paths = list(shipped_jenkinsfiles(tmp_path))
    assert len([p for p in paths if p.name.startswith("golden-")]) >= 7
    assert len([p for p in paths if p.name.startswith("example-")]) >= 3
    outcomes = compile_all(paths)
    failed = {
        name: {mode: result for mode, result in modes.items() if not result.startswith("compiled")}
        for name, modes in outcomes.items()
    }
    assert not {name: modes for name, modes in failed.items() if modes}


@pytest.fixture(scope="module")
def at_the_limits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The largest pipelines render accepts, and the issue's pipelines that it refuses (here
    rendered with its limits lifted), compiled in one JVM."""
    folder = tmp_path_factory.mktemp("limits")
    cases = {
        "tests": (pipeline_yaml, 1, 140),
        "approvals": (lambda n: pipeline_yaml(1, n, multibranch=True), 1, 30),
        "escapes": (escapes_yaml, 100, 760),
    }
    paths = []
    for name, (make, low, high) in cases.items():
        accepted = largest_accepted(make, folder / name, low, high)
        service = service_of(folder / name, make(accepted))
        path = folder / f"{name}-under.Jenkinsfile"
        path.write_text(render_jenkinsfile(service), encoding="utf-8")
        paths.append(path)
        over = write(folder / f"{name}-over", make(accepted + 1))
        try:
            render_run([over], workers=1)
        except InvalidDescriptors as refused:
            OVER[name] = [str(p) for p in refused.problems()]
    # and the issue's own cases, rendered without the limits: Jenkins' CPS rejects them
    issue = {"issue-tests": pipeline_yaml(140), "issue-mixed": pipeline_yaml(100, 10)}
    for name, text in issue.items():
        service = service_of(folder / name, text)
        with pytest.MonkeyPatch.context() as limits:
            limits.setattr(jenkinsfile, "MAX_PIPELINE_CODE", 10**9)
            path = folder / f"{name}.Jenkinsfile"
            path.write_text(render_jenkinsfile(service), encoding="utf-8")
        paths.append(path)
    service = service_of(folder / "issue-escapes", escapes_yaml(760))
    with pytest.MonkeyPatch.context() as limits:
        limits.setattr(jenkinsfile, "MAX_CONSTANTS", 10**9)
        path = folder / "issue-escapes.Jenkinsfile"
        path.write_text(render_jenkinsfile(service), encoding="utf-8")
    paths.append(path)
    return compile_all(paths)


@pytest.mark.parametrize("name", ["tests", "approvals", "escapes"])
def test_the_largest_pipeline_render_accepts_compiles_under_sandbox_cps(
    at_the_limits: dict[str, dict[str, str]], name: str
) -> None:
    outcomes = at_the_limits[f"{name}-under.Jenkinsfile"]
    assert outcomes["sandbox+cps"].startswith("compiled"), outcomes
    assert outcomes["cps"].startswith("compiled"), outcomes


@pytest.mark.parametrize(
    ("name", "where", "says"),
    [
        ("tests", ":10:3: ", "'Method too large'"),  # pipeline.test
        ("approvals", ":14:1: ", "'Method too large'"),  # deploy
        ("escapes", ":7:3: ", "'Class too large'"),  # runtime.env
    ],
)
def test_one_more_is_refused_with_one_located_message(
    at_the_limits: dict[str, dict[str, str]], name: str, where: str, says: str
) -> None:
    (message,) = OVER[name]
    assert where in message and says in message


@pytest.mark.parametrize(
    ("name", "failure"),
    [
        ("issue-tests", "Method too large"),
        ("issue-mixed", "Method too large"),
        ("issue-escapes", "Class too large"),
    ],
)
def test_what_render_refuses_fails_under_cps_but_not_plain_groovy(
    at_the_limits: dict[str, dict[str, str]], name: str, failure: str
) -> None:
    outcomes = at_the_limits[f"{name}.Jenkinsfile"]
    assert outcomes["plain"].startswith("compiled"), outcomes
    assert failure in outcomes["cps"], outcomes
    assert failure in outcomes["sandbox+cps"], outcomes
