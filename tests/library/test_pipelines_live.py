"""Live mode: a generated Jenkinsfile runs through the harness with ``sh`` for real, so its
steps drive ``jenkins-bridge image build``, ``image push`` and ``deploy`` against the real
engine, the registry on 127.0.0.1:5000 and the deploy proxy."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.containers.conftest import BASE_IMAGE, Services, unique_repository
from tests.deploy.conftest import APP_DOCKERFILE, TEAM, Environment
from tests.library.harness import ROOT, case, run_cases, shell_calls, stage_results

pytestmark = [pytest.mark.docker, pytest.mark.registry, pytest.mark.groovy]

CLI = ROOT / ".venv" / "bin" / "jenkins-bridge"


def commit_all(repo: Path, message: str) -> str:
    """Commits everything in ``repo`` (a new repository unless it has one); returns the commit."""
    git = ["git", "-C", str(repo), "-c", "user.name=ci", "-c", "user.email=ci@example.com"]
    if not (repo / ".git").exists():
        subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)
    done = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def service_repository(root: Path, descriptor: str, dockerfile: str) -> tuple[Path, str]:
    """A service repository holding its descriptor, Dockerfile and generated Jenkinsfile
    (a multibranch job's layout); returns it and its commit."""
    repo = root / "app"
    repo.mkdir()
    (repo / "Dockerfile").write_text(dockerfile)
    (repo / "jenkins-bridge.yaml").write_text(descriptor)
    out = root / "rendered"
    subprocess.run([str(CLI), "render", str(repo), "-o", str(out)], check=True, capture_output=True)
    (jenkinsfile,) = out.glob("*/*/Jenkinsfile")
    (repo / "Jenkinsfile").write_text(jenkinsfile.read_text())
    return repo, commit_all(repo, "app")


def live_case(name: str, repo: Path, commit: str, build: int = 1, **fields: Any) -> dict[str, Any]:
    return case(
        name,
        repo / "Jenkinsfile",
        mode="live",
        workspace=str(repo),
        env={
            "BRANCH_NAME": "main",
            "BUILD_NUMBER": str(build),
            "BUILD_URL": f"http://127.0.0.1/job/app/{build}/",
            "JENKINS_BRIDGE_CLI": str(CLI),
            "GIT_COMMIT": commit,
        },
        checkoutEnv={},
        **fields,
    )


def run_image_pipeline(
    services: Services, repositories: list[str], root: Path, built: str
) -> tuple[str, Path, dict[str, Any]]:
    """A service with an image, an in-image test (it expects /built.txt to say 'built') and
    hostile values, but no deploy, whose Dockerfile writes ``built``; its generated pipeline
    run live once. Returns the image repository, the workspace and the outcome."""
    repository = unique_repository(services.plain_registry, repositories)
    descriptor = (
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        "metadata: {name: app, team: library-test, description: '\"; touch pwned-description; #'}\n"
        "source: {repo: https://git.example.com/library-test/app.git}\n"
        "pipeline:\n  jobType: multibranch\n"
        "  test: [{name: in-image, run: 'test \"$(cat /built.txt)\" = built'}]\n"
        f"image: {{repository: {repository}, buildArgs: {{X: '$(touch pwned-build-arg)'}}}}\n"
    )
    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo {built} > /built.txt\n"
    repo, commit = service_repository(root, descriptor, dockerfile)
    return repository, repo, run_cases([live_case(built, repo, commit)], root)[built]


def test_a_generated_pipeline_builds_tests_and_pushes_for_real(
    services: Services, repositories: list[str], tmp_path: Path
) -> None:
    repository, repo, run = run_image_pipeline(services, repositories, tmp_path, "built")
    assert (run["result"], stage_results(run)) == (
        "SUCCESS",
        [
            ("Build", "SUCCESS"),
            ("Build image", "SUCCESS"),
            ("Test: in-image", "SUCCESS"),
            ("Push image", "SUCCESS"),
        ],
    ), run["log"]
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
    _, _, run = run_image_pipeline(services, repositories, tmp_path, "broken")
    assert run["result"] == "FAILURE"
    assert ("Test: in-image", "FAILURE") in stage_results(run)
    assert ("Push image", "SKIPPED: earlier failure") in stage_results(run)
    assert "bridgeTest: test 'in-image' failed (exit 1)" in run["log"]


def app_dockerfile(version: int, healthy: bool) -> str:
    """The deploy tests' example app (tests/deploy/app) with its build arguments fixed, as a
    commit of the service would change its own source."""
    text = APP_DOCKERFILE.read_text()
    fixed = text.replace("ARG VERSION\n", f"ARG VERSION={version}\n").replace(
        "ARG HEALTHY=yes\n", f"ARG HEALTHY={'yes' if healthy else 'no'}\n"
    )
    assert fixed.count(f"ARG VERSION={version}\n") == 1 and fixed.count("ARG HEALTHY=") == 1
    return fixed


def fetch(listen: str) -> str:
    with urllib.request.urlopen(f"http://{listen}/", timeout=10) as answer:
        return str(answer.read().decode().strip())


@pytest.mark.deploy
def test_a_generated_pipeline_deploys_and_a_failing_version_is_rolled_back(
    environment: Environment, repositories: list[str], tmp_path: Path
) -> None:
    """Build 1 puts version 1 live through the proxy; build 2's version never gets healthy: the
    CLI exits 3, bridgeDeploy fails the build saying what is serving (or, with onRollback:
    'UNSTABLE', marks it unstable and goes on), and version 1 answers."""
    repositories.append(f"127.0.0.1:5000/{TEAM}/{environment.name}")
    descriptor = environment.with_extra(
        "    approval: {timeoutMinutes: 5}\npipeline: {jobType: multibranch}\n"
    )
    first, commit1 = service_repository(tmp_path, descriptor, app_dockerfile(1, healthy=True))
    second = shutil.copytree(first, tmp_path / "build-2", symlinks=True)
    (second / "Dockerfile").write_text(app_dockerfile(2, healthy=False))
    commit2 = commit_all(second, "version 2 breaks its health check")
    third = shutil.copytree(second, tmp_path / "hand-written", symlinks=True)
    approved = {"Approve: test": "approve"}  # the person at the input step says yes
    probe = "echo(sh(script: 'wget -qO- \"http://$PROBE_LISTEN/\"', returnStdout: true).trim())"
    runs = run_cases(
        [
            live_case("build-1", first, commit1, 1, inputs=approved),
            case("probe", script=probe, mode="live", env={"PROBE_LISTEN": environment.listen}),
            live_case("build-2", second, commit2, 2, inputs=approved, previousResult="SUCCESS"),
            # a hand-written pipeline that tolerates the rollback: version 2 by its tag again
            case(
                "unstable",
                script=(
                    "bridgeDeploy(environment: 'test', image: env.V2, onRollback: 'UNSTABLE')\n"
                    "echo('went on')"
                ),
                mode="live",
                workspace=str(third),
                checkoutEnv={},
                env={
                    "JENKINS_BRIDGE_CLI": str(CLI),
                    "APP_TOKEN": "token-of-a-hand-written-pipeline",
                    "V2": f"127.0.0.1:5000/{TEAM}/{environment.name}:{commit2[:12]}",
                },
            ),
        ],
        tmp_path,
    )
    stages = [
        ("Build", "SUCCESS"),
        ("Build image", "SUCCESS"),
        ("Push image", "SUCCESS"),
        ("Approve: test", "SUCCESS"),
        ("Deploy: test", "SUCCESS"),
    ]
    build1 = runs["build-1"]
    assert (build1["result"], stage_results(build1)) == ("SUCCESS", stages), build1["log"]
    assert [c["stage"] for c in build1["calls"] if c["step"] == "input"] == ["Approve: test"]
    assert runs["probe"]["log"] == ["version 1"]
    record1 = json.loads((first / "deploy-test.json").read_text())
    assert record1["status"] == "live"
    serving = record1["record"]["digest"]
    assert serving.startswith(f"127.0.0.1:5000/{TEAM}/{environment.name}@sha256:")
    assert build1["description"] == f"test: {serving} live"
    archived = [c["artifacts"] for c in build1["calls"] if c["step"] == "archiveArtifacts"]
    assert archived == ["deploy-test.json"]

    build2 = runs["build-2"]
    assert (build2["result"], stage_results(build2)) == (
        "FAILURE",
        [*stages[:-1], ("Deploy: test", "FAILURE")],
    ), build2["log"]
    message = (
        "bridgeDeploy: test: the new version failed its health check and was rolled back; "
        f"{serving} is serving"
    )
    assert build2["description"] == message
    assert message in build2["log"]
    record2 = json.loads((second / "deploy-test.json").read_text())
    assert (record2["status"], record2["record"]["previous"]) == ("rolled-back", serving)
    # the history on the engine says which build and commit tried it
    assert record2["record"]["git_commit"] == commit2
    assert record2["record"]["build_url"] == "http://127.0.0.1/job/app/2/"
    unstable = runs["unstable"]
    assert (unstable["result"], unstable["log"]) == ("UNSTABLE", [message, "went on"])
    assert fetch(environment.listen) == "version 1"
