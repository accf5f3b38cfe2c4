"""Live mode: a generated Jenkinsfile runs through the harness with ``sh`` for real, so its
steps drive ``jenkins-bridge image build`` and ``image push`` against the real engine and the
registry on 127.0.0.1:5000. (Deploy joins once the deploy issue is merged.)"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.containers.conftest import BASE_IMAGE, Services, unique_repository
from tests.library.harness import ROOT, case, run_cases, shell_calls, stage_results

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.groovy]

CLI = ROOT / ".venv" / "bin" / "jenkins-bridge"


def service_repository(root: Path, repository: str) -> tuple[Path, str]:
    """A service repository holding its descriptor, Dockerfile and generated Jenkinsfile
    (a multibranch job's layout); returns it and its commit."""
    repo = root / "app"
    repo.mkdir()
    (repo / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo built > /built.txt\n")
    (repo / "jenkins-bridge.yaml").write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        "metadata: {name: app, team: library-test, description: '\"; touch pwned-description; #'}\n"
        "source: {repo: https://git.example.com/library-test/app.git}\n"
        "pipeline:\n  jobType: multibranch\n"
        "  test: [{name: in-image, run: 'test \"$(cat /built.txt)\" = built'}]\n"
        f"image: {{repository: {repository}, buildArgs: {{X: '$(touch pwned-build-arg)'}}}}\n"
    )
    out = root / "rendered"
    subprocess.run([str(CLI), "render", str(repo), "-o", str(out)], check=True, capture_output=True)
    (repo / "Jenkinsfile").write_text((out / "library-test" / "app" / "Jenkinsfile").read_text())
    git = ["git", "-C", str(repo), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "app"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return repo, commit


def live_case(name: str, repo: Path, commit: str) -> dict[str, Any]:
    return case(
        name,
        repo / "Jenkinsfile",
        mode="live",
        workspace=str(repo),
        env={
            "BRANCH_NAME": "main",
            "BUILD_NUMBER": "1",
            "JENKINS_BRIDGE_CLI": str(CLI),
            "GIT_COMMIT": commit,
        },
        checkoutEnv={},
    )


def test_a_generated_pipeline_builds_tests_and_pushes_for_real(
    services: Services, repositories: list[str], tmp_path: Path
) -> None:
    repository = unique_repository(services.plain_registry, repositories)
    repo, commit = service_repository(tmp_path, repository)
    run = run_cases([live_case("live", repo, commit)], tmp_path)["live"]
    assert run["result"] == "SUCCESS", run["log"]
    assert stage_results(run) == [
        ("Build", "SUCCESS"),
        ("Build image", "SUCCESS"),
        ("Test: in-image", "SUCCESS"),
        ("Push image", "SUCCESS"),
    ]
    reference = run["description"].removeprefix("pushed ")
    assert reference.startswith(repository + "@sha256:")
    digest = reference.split("@", 1)[1]
    path = repository.split("/", 1)[1]
    request = urllib.request.Request(
        f"http://{services.plain_registry}/v2/{path}/manifests/{digest}",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        method="HEAD",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
    assert not list(repo.glob("pwned-*")) and not list(Path.cwd().glob("pwned-*"))
    resolved = json.loads((repo / ".jenkins-bridge-resolved.json").read_text())
    assert resolved["image"]["buildArgs"] == {"X": "$(touch pwned-build-arg)"}
    assert resolved["image"]["repository"] == repository
    assert [c["script"].split()[3:5] for c in shell_calls(run) if "BRIDGE_CLI" in c["script"]][
        :2
    ] == [["image", "build"], ["image", "push"]]


def test_a_failing_test_in_the_image_fails_the_build_and_pushes_nothing(
    services: Services, repositories: list[str], tmp_path: Path
) -> None:
    repository = unique_repository(services.plain_registry, repositories)
    repo, commit = service_repository(tmp_path, repository)
    (repo / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo broken > /built.txt\n")
    run = run_cases([live_case("live-failing", repo, commit)], tmp_path)["live-failing"]
    assert run["result"] == "FAILURE"
    assert ("Test: in-image", "FAILURE") in stage_results(run)
    assert ("Push image", "SKIPPED: earlier failure") in stage_results(run)
    assert "bridgeTest: test 'in-image' failed (exit 1)" in run["log"]
