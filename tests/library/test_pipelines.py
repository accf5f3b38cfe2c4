"""Generated pipelines run through the harness with this repository's vars/ (recorded mode):
stage order, the exact commands and what reaches them, Jenkins' when/input/post semantics,
and the resolved descriptor a build runs with. All cases run in one JVM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, ROOT

from jenkins_bridge.output.run import render_run
from tests.library.harness import (
    case,
    cli_answers,
    cli_commands,
    run_cases,
    shell_calls,
    stage_results,
)

pytestmark = pytest.mark.groovy

FULL = GOLDEN / "full" / "expected" / "payments" / "payments-api" / "Jenkinsfile"
MULTIBRANCH = GOLDEN / "multibranch" / "expected" / "frontend" / "web" / "Jenkinsfile"
HOSTILE = GOLDEN / "hostile-values" / "expected" / "red" / "evil" / "Jenkinsfile"
MINIMAL = GOLDEN / "minimal" / "expected" / "core" / "hello" / "Jenkinsfile"

DEFAULTS = """\
apiVersion: jenkins-bridge/v1
kind: Service
pipeline: {agent: linux-docker, timeoutMinutes: 45}
image: {repository: registry.example.com/platform/app, credentialsId: team-registry}
runtime: {secrets: [{env: API_KEY, credentialsId: team-api-key}]}
deploy: [{environment: staging}]
"""


def _render_team(root: Path, job_type: str, defaults: str) -> Path:
    """Render one service governed by ``defaults``; return its Jenkinsfile."""
    repo = root / "descriptors"
    (repo / ".git").mkdir(parents=True, exist_ok=True)
    (repo / "platform").mkdir(exist_ok=True)
    (repo / "platform" / "_defaults.yaml").write_text(defaults)
    (repo / "platform" / "app.yaml").write_text(
        "metadata: {name: app, team: platform}\n"
        "source: {repo: https://git.example.com/platform/app.git}\n"
        f"pipeline: {{jobType: {job_type}}}\n"
    )
    tree = render_run([repo]).tree
    target = root / "Jenkinsfile"
    target.write_text(tree.artifacts["platform/app/Jenkinsfile"].text)
    return target


SCRIPT_CASES: dict[str, str] = {
    "unknown-key": "bridgeBuild(imgae: 'x')",
    "missing-key": "bridgeDeploy(image: 'r@sha256:1')",
    "wrong-type": "bridgeDeploy(environment: 'staging', timeout: '300; reboot')",
    "rollback-unstable": (
        "bridgeDeploy(environment: 'staging', image: 'r/app@sha256:1', onRollback: 'UNSTABLE')\n"
        "echo('went on')"
    ),
    "deploy-by-tag": "bridgeDeploy(environment: 'staging', image: 'r/app:1.2')",
    "rollback-step": "bridgeRollback(environment: 'production', to: 'r/app@sha256:0')",
    "setup-mismatch": "bridgeValidate()",
    "pipeline-step": "bridgePipeline(descriptor: 'svc.yaml', agent: 'linux')",
    "test-without-image": "bridgeTest(name: 'u', run: 'echo \\'$HOME\\'; `id` ${evil}')",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("pipelines")
    cases = [
        case("full-main", FULL),
        case("full-feature", FULL, checkoutEnv={"GIT_BRANCH": "origin/feature/x"}),
        case("full-declined", FULL, inputs={"Approve: production": "reject"}),
        case("full-fixed", FULL, previousResult="FAILURE"),
        case(
            "full-build-fails",
            FULL,
            sh=[
                {
                    "match": "image build",
                    "status": 1,
                    "result": {
                        "status": "error",
                        "errors": [{"message": "Dockerfile: step 3 failed: exit 2"}],
                    },
                },
                *cli_answers(),
            ],
        ),
        case(
            "full-rolled-back",
            FULL,
            sh=[
                {
                    "match": '--env "\\$BRIDGE_ENVIRONMENT" --image',
                    "status": 3,
                    "result": {
                        "status": "rolled-back",
                        "data": {
                            "result": "rolled-back",
                            "record": {"previous": "registry.example.com/payments/api@sha256:old"},
                        },
                    },
                },
                *cli_answers(),
            ],
        ),
        case("multibranch-release", MULTIBRANCH, env={"BRANCH_NAME": "release"}, checkoutEnv={}),
        case("multibranch-Release", MULTIBRANCH, env={"BRANCH_NAME": "Release"}, checkoutEnv={}),
        case(
            "hostile",
            HOSTILE,
            checkoutEnv={"GIT_BRANCH": "origin/feat/x.y-z"},
            sh=cli_answers("registry.example.com/red/evil"),
        ),
        case("minimal", MINIMAL),
        case(
            "own-jenkinsfile",
            ROOT / "Jenkinsfile",
            env={"BRANCH_NAME": "main"},
            workspace="/ci/workspace",
        ),
    ]
    for name, script in SCRIPT_CASES.items():
        fields: dict[str, Any] = {"script": script}
        if name == "rollback-unstable":
            fields["sh"] = [
                {"match": " deploy ", "status": 3, "result": {"status": "rolled-back", "data": {}}},
                *cli_answers(),
            ]
        if name == "setup-mismatch":
            fields["sh"] = [
                {
                    "match": "--version",
                    "stdout": "/x/jenkins-bridge\njenkins-bridge, version 0.0.9\n",
                }
            ]
        if name == "pipeline-step":
            fields["yaml"] = {
                "svc.yaml": {
                    "metadata": {"name": "svc", "team": "t"},
                    "image": {"repository": "r/svc"},
                    "pipeline": {"test": [{"name": "unit", "run": "make test"}]},
                    "deploy": [{"environment": "staging"}],
                }
            }
            fields["env"] = {"BRANCH_NAME": "main"}
        cases.append(case(name, **fields))
    for job_type in ("pipeline", "multibranch"):
        before = _render_team(tmp / f"{job_type}-before", job_type, DEFAULTS)
        after = _render_team(tmp / f"{job_type}-after", job_type, DEFAULTS.replace("45", "30"))
        env = {"BRANCH_NAME": "main"} if job_type == "multibranch" else {}
        registry = cli_answers("registry.example.com/platform/app")
        cases.append(case(f"defaults-{job_type}-before", before, env=env, sh=registry))
        cases.append(case(f"defaults-{job_type}-after", after, env=env, sh=registry))
    return run_cases(cases, tmp)


BUILD = (
    '"$BRIDGE_CLI" --output json image build "$BRIDGE_DESCRIPTOR_FILE" '
    '${BRIDGE_NO_CACHE:+--no-cache} > "$BRIDGE_RESULT"'
)
PUSH = (
    '"$BRIDGE_CLI" --output json image push "$BRIDGE_DESCRIPTOR_FILE" '
    '--tag "$BRIDGE_TAG" > "$BRIDGE_RESULT"'
)
DEPLOY = (
    '"$BRIDGE_CLI" --output json deploy "$BRIDGE_DESCRIPTOR_FILE" --env "$BRIDGE_ENVIRONMENT" '
    '--image "$BRIDGE_IMAGE_REF" ${BRIDGE_TIMEOUT:+--timeout "$BRIDGE_TIMEOUT"} > "$BRIDGE_RESULT"'
)
TEST_IN_IMAGE = (
    'docker run --rm --network host --entrypoint sh "$BRIDGE_TEST_IMAGE" -c "$BRIDGE_TEST_RUN"'
)


def test_full_pipeline_on_the_deploy_branch(runs: dict[str, Any]) -> None:
    run = runs["full-main"]
    assert run["result"] == "SUCCESS", run["log"]
    assert stage_results(run) == [
        ("Build", "SUCCESS"),
        ("Checkout", "SUCCESS"),
        ("Build image", "SUCCESS"),
        ("Test: unit", "SUCCESS"),
        ("Push image", "SUCCESS"),
        ("Deploy: staging", "SUCCESS"),
        ("Approve: production", "SUCCESS"),
        ("Deploy: production", "SUCCESS"),
    ]
    assert cli_commands(run) == [BUILD, PUSH, DEPLOY, DEPLOY]
    by_script = {c["script"]: c["env"] for c in shell_calls(run)}
    assert by_script[TEST_IN_IMAGE]["BRIDGE_TEST_RUN"] == "pytest -q"
    assert (
        by_script[TEST_IN_IMAGE]["BRIDGE_TEST_IMAGE"]
        == "registry.example.com/payments/api:0123456789ab"
    )
    push_env = by_script[PUSH]
    assert push_env["BRIDGE_TAG"] == "0123456789ab"
    assert push_env["REGISTRY_USER"] == "user-of-registry-creds"
    deploys = [c["env"] for c in shell_calls(run) if c["script"] == DEPLOY]
    assert [d["BRIDGE_ENVIRONMENT"] for d in deploys] == ["staging", "production"]
    assert all(d["BRIDGE_IMAGE_REF"].endswith("@sha256:" + "a" * 64) for d in deploys)
    assert all(d["DB_PASSWORD"] == "secret-of-payments-db" for d in deploys)
    # Credentials are bound for the one command that needs them, nothing else.
    for call in shell_calls(run):
        if call["script"] != PUSH:
            assert "REGISTRY_PASSWORD" not in call["env"], call["script"]
        if call["script"] != DEPLOY:
            assert "DB_PASSWORD" not in call["env"], call["script"]
    inputs = [c for c in run["calls"] if c["step"] == "input"]
    assert inputs == [
        {
            "step": "input",
            "stage": "Approve: production",
            "message": "Deploy payments-api to production?",
            "ok": "Deploy",
            "submitter": "payments-leads",
        }
    ]
    archived = [c["artifacts"] for c in run["calls"] if c["step"] == "archiveArtifacts"]
    assert archived == ["deploy-staging.json", "deploy-production.json"]
    assert "production" in run["description"]
    assert not [c for c in run["calls"] if c["step"] == "mail"]


def test_the_approval_waits_without_an_agent_and_when_comes_first(runs: dict[str, Any]) -> None:
    calls = runs["full-main"]["calls"]
    steps = [(c["step"], c.get("stage")) for c in calls if c["step"] in ("agent", "input")]
    assert steps == [
        ("agent", "Build"),
        ("agent", "Deploy: staging"),
        ("input", "Approve: production"),
        ("agent", "Deploy: production"),
    ]


def test_a_plain_job_builds_its_deploy_branch_with_nothing_from_the_service_repository(
    runs: dict[str, Any],
) -> None:
    """Issue 11: a plain job's script lives in the job, not in the service repository. The
    build checks out source.branch itself (whatever branch the controller's env names: a
    plain job builds only that one, so pushing and deploying need no branch guard), takes no
    automatic checkout, and hands the CLI only files it wrote itself: the resolved descriptor
    comes with the script, the repository supplies nothing but its source code."""
    run = runs["full-feature"]
    assert run["result"] == "SUCCESS", run["log"]
    assert "skipDefaultCheckout" in run["calls"][0]["options"]
    assert not [c for c in run["calls"] if c["step"] == "checkout"]
    (git,) = [c for c in run["calls"] if c["step"] == "git"]
    assert git == {
        "step": "git",
        "url": "https://git.example.com/payments/api.git",
        "branch": "main",
        "credentialsId": "git-ssh",
    }
    assert cli_commands(run) == [BUILD, PUSH, DEPLOY, DEPLOY]
    written = {c["file"] for c in run["calls"] if c["step"] == "writeFile"}
    handed = {
        c["env"]["BRIDGE_DESCRIPTOR_FILE"]
        for c in shell_calls(run)
        if "BRIDGE_DESCRIPTOR_FILE" in c["env"]
    }
    assert handed and handed <= written


def test_a_declined_approval_aborts_and_says_so(runs: dict[str, Any]) -> None:
    run = runs["full-declined"]
    assert run["result"] == "ABORTED"
    assert stage_results(run)[-2:] == [
        ("Approve: production", "ABORTED"),
        ("Deploy: production", "SKIPPED: earlier failure"),
    ]
    # the top-level post says it: declarative runs no post of a stage whose input was declined
    assert run["log"][-1:] == [
        "Aborted: an approval that expires or is declined aborts the build "
        "(production after 240 minutes)."
    ]
    mails = [c for c in run["calls"] if c["step"] == "mail"]
    assert [m["subject"] for m in mails] == ["Build aborted: team/app #7"]
    assert cli_commands(run) == [BUILD, PUSH, DEPLOY]


def test_post_fixed_mails_when_a_failed_build_is_followed_by_a_success(
    runs: dict[str, Any],
) -> None:
    mails = [c for c in runs["full-fixed"]["calls"] if c["step"] == "mail"]
    assert [m["subject"] for m in mails] == ["Build fixed: team/app #7"]


def test_a_failed_build_skips_the_rest_reports_the_cli_error_and_mails(
    runs: dict[str, Any],
) -> None:
    run = runs["full-build-fails"]
    assert run["result"] == "FAILURE"
    assert stage_results(run) == [
        ("Build", "FAILURE"),
        ("Checkout", "SUCCESS"),
        ("Build image", "FAILURE"),
        ("Test: unit", "SKIPPED: earlier failure"),
        ("Push image", "SKIPPED: earlier failure"),
        ("Deploy: staging", "SKIPPED: earlier failure"),
        ("Approve: production", "SKIPPED: earlier failure"),
        ("Deploy: production", "SKIPPED: earlier failure"),
    ]
    assert (
        "bridgeBuild: image build failed (exit 1): Dockerfile: step 3 failed: exit 2" in run["log"]
    )
    assert [c["condition"] for c in run["calls"] if c["step"] == "post"] == ["cleanup", "failure"]
    assert [c["subject"] for c in run["calls"] if c["step"] == "mail"] == [
        "Build failed: team/app #7"
    ]


def test_a_rolled_back_deploy_fails_the_build_naming_what_serves(runs: dict[str, Any]) -> None:
    run = runs["full-rolled-back"]
    assert run["result"] == "FAILURE"
    message = (
        "bridgeDeploy: staging: the new version failed its health check and was rolled back; "
        "registry.example.com/payments/api@sha256:old is serving"
    )
    assert message in run["log"]
    assert run["description"] == message
    assert ("Deploy: staging", "FAILURE") in stage_results(run)
    assert ("Deploy: production", "SKIPPED: earlier failure") in stage_results(run)
    assert "deploy-staging.json" in [c.get("artifacts") for c in run["calls"]]
    (text,) = [c["text"] for c in run["calls"] if c.get("file") == "deploy-staging.json"]
    record = json.loads(text)
    assert record["status"] == "rolled-back"


def test_a_deploy_names_the_digest_that_went_live(runs: dict[str, Any]) -> None:
    run = runs["deploy-by-tag"]
    assert run["result"] == "SUCCESS", run["log"]
    (command,) = [c for c in shell_calls(run) if c["script"] == DEPLOY]
    assert command["env"]["BRIDGE_IMAGE_REF"] == "r/app:1.2"
    # the tag may move; the description names what the CLI resolved and put live
    assert (
        run["description"]
        == "staging: registry.example.com/payments/api@sha256:" + "d" * 64 + " live"
    )


def test_onrollback_unstable_marks_the_build_and_goes_on(runs: dict[str, Any]) -> None:
    run = runs["rollback-unstable"]
    assert run["result"] == "UNSTABLE"
    assert "went on" in run["log"]


def test_multibranch_compares_the_branch_exactly(runs: dict[str, Any]) -> None:
    release = runs["multibranch-release"]
    assert release["result"] == "SUCCESS"
    assert cli_commands(release) == [BUILD, PUSH, DEPLOY, DEPLOY]
    other = runs["multibranch-Release"]
    assert cli_commands(other) == [BUILD]
    tests = [
        c["env"]["BRIDGE_TEST_RUN"] for c in shell_calls(release) if c["script"] == TEST_IN_IMAGE
    ]
    assert tests == ["npm run lint", "npm run e2e -- --headless"]


def test_hostile_values_arrive_as_inert_data(runs: dict[str, Any]) -> None:
    run = runs["hostile"]
    assert run["result"] == "SUCCESS", run["log"]
    scripts = {c["script"] for c in shell_calls(run)}
    constant = {BUILD, PUSH, DEPLOY, TEST_IN_IMAGE, 'rm -f "$BRIDGE_RESULT"'}
    setup = {s for s in scripts if s.startswith("set -eu")}
    assert len(setup) == 1
    assert scripts - setup == constant
    test_env = next(c["env"] for c in shell_calls(run) if c["script"] == TEST_IN_IMAGE)
    assert test_env["BRIDGE_TEST_RUN"] == "echo '$HOME' \"$(id)\" `id` \\\n && exit 1"
    assert test_env["BRIDGE_TEST_NAME"] == "unit'); evil('"
    written = next(c["text"] for c in run["calls"] if c["step"] == "writeFile")
    data = json.loads(written)
    assert data["pipeline"]["agent"] == "\"x'); sh('rm -rf /'); echo('\" && linux"
    deploy_env = next(c["env"] for c in shell_calls(run) if c["script"] == DEPLOY)
    assert deploy_env["BRIDGE_ENVIRONMENT"] == "prod"
    # No evil() ran: it would be a missing method and crash the run.
    assert [i["message"] for i in run["calls"] if i["step"] == "input"] == ['${evil()}\n"""\\']


def test_a_pipeline_without_image_only_validates(runs: dict[str, Any]) -> None:
    run = runs["minimal"]
    assert run["result"] == "SUCCESS"
    assert cli_commands(run) == [
        '"$BRIDGE_CLI" --output json validate "$BRIDGE_DESCRIPTOR_FILE" > "$BRIDGE_RESULT"'
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("unknown-key", "bridgeBuild: unknown key 'imgae' (known: descriptor, noCache, resolved)"),
        ("missing-key", "bridgeDeploy: missing required key 'environment'"),
        ("wrong-type", "bridgeDeploy: key 'timeout' must be a Integer"),
        (
            "setup-mismatch",
            "bridgeSetup: /x/jenkins-bridge reports 'jenkins-bridge, version 0.0.9', but this "
            "library is version 0.1.0: install the matching jenkins-bridge, or load the library "
            "tag v0.0.9",
        ),
    ],
)
def test_bad_config_stops_the_build_with_one_message(
    runs: dict[str, Any], name: str, message: str
) -> None:
    run = runs[name]
    assert run["result"] == "FAILURE"
    assert run["log"] == [message]
    assert not cli_commands(run)


def test_rollback_step_passes_its_target_through_the_environment(runs: dict[str, Any]) -> None:
    run = runs["rollback-step"]
    assert run["result"] == "SUCCESS", run["log"]
    (command,) = [c for c in shell_calls(run) if " rollback " in c["script"]]
    assert command["script"] == (
        '"$BRIDGE_CLI" --output json rollback "$BRIDGE_DESCRIPTOR_FILE" '
        '--env "$BRIDGE_ENVIRONMENT" ${BRIDGE_ROLLBACK_TO:+--to "$BRIDGE_ROLLBACK_TO"} '
        '> "$BRIDGE_RESULT"'
    )
    assert command["env"]["BRIDGE_ROLLBACK_TO"] == "r/app@sha256:0"
    assert command["env"]["BRIDGE_DESCRIPTOR_FILE"] == "jenkins-bridge.yaml"


@pytest.mark.parametrize(
    ("name", "stages"),
    [
        (
            "pipeline-step",
            ["Checkout", "Validate", "Build image", "Test: unit", "Push image", "Deploy: staging"],
        ),
        ("own-jenkinsfile", ["Install", "Lint", "Library under test", "Test", "Demo"]),
    ],
)
def test_scripted_pipelines_run_their_stages(
    runs: dict[str, Any], name: str, stages: list[str]
) -> None:
    run = runs[name]
    assert (run["result"], [s for s, _ in stage_results(run)]) == ("SUCCESS", stages), run["log"]


def test_bridge_pipeline_runs_the_whole_pipeline_from_the_descriptor(runs: dict[str, Any]) -> None:
    run = runs["pipeline-step"]
    assert [c["label"] for c in run["calls"] if c["step"] == "node"] == ["linux"]


@pytest.mark.parametrize("job_type", ["pipeline", "multibranch"])
def test_steps_hand_the_cli_the_merged_descriptor_and_defaults_change_it_after_render(
    runs: dict[str, Any], job_type: str
) -> None:
    for state, timeout in (("before", 45), ("after", 30)):
        run = runs[f"defaults-{job_type}-{state}"]
        assert run["result"] == "SUCCESS", run["log"]
        written = [
            c
            for c in run["calls"]
            if c["step"] == "writeFile" and c["file"] == ".jenkins-bridge-resolved.json"
        ]
        assert written, "no step wrote the resolved descriptor"
        for call in written:
            data = json.loads(call["text"])
            assert data["pipeline"]["timeoutMinutes"] == timeout
            assert data["pipeline"]["jobType"] == job_type
            assert data["image"]["repository"] == "registry.example.com/platform/app"
        for command in cli_commands(run):
            env = next(c["env"] for c in shell_calls(run) if c["script"] == command)
            assert env["BRIDGE_DESCRIPTOR_FILE"] == ".jenkins-bridge-resolved.json"
        push_env = next(c["env"] for c in shell_calls(run) if c["script"] == PUSH)
        assert push_env["REGISTRY_USER"] == "user-of-team-registry"  # from _defaults.yaml
        deploy_env = next(c["env"] for c in shell_calls(run) if c["script"] == DEPLOY)
        assert deploy_env["API_KEY"] == "secret-of-team-api-key"
        options = [c for c in run["calls"] if c["step"] == "options" and c["stage"] == "Build"]
        assert options[0]["options"] == [["timeout", [timeout]]]


def test_the_projects_own_jenkinsfile_runs(runs: dict[str, Any]) -> None:
    run = runs["own-jenkinsfile"]
    (library,) = [c for c in run["calls"] if c["step"] == "library"]
    assert library["identifier"] == "jenkins-bridge@main"
    assert library["retriever"] == {"retriever": "legacySCM"}
    scripts = [c["script"] for c in shell_calls(run)]
    assert ".venv/bin/ruff check jenkins_bridge tests bench" in scripts
    assert ".venv/bin/pytest -q -p no:cacheprovider -m codenarc" in scripts
    assert 'bash scripts/test.sh -m "not codenarc"' in scripts
    (setup,) = [c for c in shell_calls(run) if c["script"].startswith("set -eu")]
    assert setup["env"]["BRIDGE_SETUP_CLI"] == "/ci/workspace/.venv/bin/jenkins-bridge"


def test_a_test_without_an_image_runs_its_command_from_the_environment(
    runs: dict[str, Any],
) -> None:
    run = runs["test-without-image"]
    assert run["result"] == "SUCCESS", run["log"]
    (call,) = shell_calls(run)
    assert call["script"] == 'sh -c "$BRIDGE_TEST_RUN"'
    assert call["env"]["BRIDGE_TEST_RUN"] == "echo '$HOME'; `id` ${evil}"
