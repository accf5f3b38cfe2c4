"""Every step of the library under the real pipeline run time: groovy-cps and script-security's
sandbox with the stock whitelists (``shared/jenkins-sandbox``), as a folder library runs on a
controller. Success paths, each error path, credentials, rollbacks, and ``bridgePipeline`` in a
multibranch and a plain pipeline job. A ``RejectedAccessException`` here is what a user of the
folder library would see; skipped (with the reason) where the run time is absent.

All cases run in one JVM (one ``run.sh steps`` per module): each start costs seconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from tests.library.step_docs import load_table
from tests.sandbox_runtime import CaseOutcome, needs_sandbox, run_steps

pytestmark = [pytest.mark.sandbox, needs_sandbox]

VERSION = load_table()["version"]
CLI = "/opt/jb/bin/jenkins-bridge"
SETUP = {"match": "^set -eu", "stdout": f"{CLI}\njenkins-bridge {VERSION}\n"}
DIGEST = "registry.example/team/app@sha256:" + "a" * 64
PREVIOUS = "registry.example/team/app@sha256:" + "0" * 64
# What the runner binds for a credential: its values read ``credential:<ID>``. A CLI that
# echoes a secret would put this text in its output; it must reach no log, message or artifact.
SECRET_MARK = "credential:"

RESOLVED: dict[str, Any] = {
    "name": "app",
    "image": {"repository": "registry.example/team/app", "credentialsId": "registry-push"},
    "runtime": {
        "secrets": [{"env": "APP_TOKEN", "credentialsId": "app-token"}],
        "companions": [
            {
                "name": "db",
                "image": "postgres:16",
                "secrets": [{"env": "DB_PASSWORD", "credentialsId": "db-password"}],
            }
        ],
    },
    "deploy": [{"environment": "staging"}, {"environment": "production"}],
}


def groovy(text: str) -> str:
    """``text`` as a single-quoted Groovy literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def envelope(status: str, data: dict[str, Any] | None = None, errors: Sequence[str] = ()) -> Any:
    return {"status": status, "data": data or {}, "errors": [{"message": m} for m in errors]}


def record(**fields: Any) -> dict[str, Any]:
    base = {
        "seq": 4,
        "action": "deploy",
        "environment": "staging",
        "image": DIGEST,
        "digest": DIGEST,
        "container": "jb-team-app-staging-4",
        "previous": PREVIOUS,
        "result": "live",
        "detail": "",
    }
    return {**base, **fields}


def case(
    name: str,
    script: str,
    rules: Sequence[dict[str, Any]] = (),
    env: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "script": script,
        "env": {"WORKSPACE": "/ws", **(env or {})},
        "sh": [*rules, SETUP],  # a case's own rules first: they may answer setup too
        "showLog": True,
        **extra,
    }


R = groovy(json.dumps(RESOLVED))
# a credential whose bound value JSON writes escaped (quote, backslash, non-ASCII, tab)
ODD_ID = 'odd"id\\-é-\t-☃'
ODD = groovy(json.dumps({"runtime": {"secrets": [{"env": "ODD", "credentialsId": ODD_ID}]}}))
DEPLOY = f"bridgeDeploy(resolved: {R}, environment: 'staging', image: '{DIGEST}'"


def node(body: str) -> str:
    """``body`` on an agent, as a Jenkinsfile runs the steps."""
    return "node('linux') { " + body + " }"


SERVICE_YAML = {
    **RESOLVED,
    "pipeline": {"test": [{"name": "unit", "run": "pytest -q"}]},
}
PIPELINE_RULES = [
    {"match": " validate ", "result": envelope("ok")},
    {
        "match": " image build ",
        "result": envelope(
            "ok",
            {
                "reference": "registry.example/team/app:3f2c1a9",
                "repository": "registry.example/team/app",
            },
        ),
    },
    {"match": "^docker run", "status": 0},
    {"match": " image push ", "result": envelope("ok", {"reference": DIGEST})},
    {"match": ' deploy "', "result": envelope("live", {"result": "live", "record": record()})},
]


def cases() -> list[dict[str, Any]]:
    deploy_live = {
        "match": ' deploy "',
        "logCredentials": True,
        "result": envelope("live", {"result": "live", "record": record()}),
    }
    return [
        # bridgeSetup
        case("setup returns the CLI", node("echo('cli=' + bridgeSetup())")),
        case(
            "setup install failed",
            node("bridgeSetup(findLinks: '/srv/wheels')"),
            [
                {
                    "match": "^set -eu",
                    "stdout": "jenkins-bridge setup failed: pip could not install jenkins-bridge\n",
                }
            ],
        ),
        case(
            "setup version mismatch",
            node("bridgeSetup()"),
            [{"match": "^set -eu", "stdout": f"{CLI}\njenkins-bridge 0.0.9\n"}],
        ),
        # the key table
        case("unknown key", node("bridgeValidate(bogus: 'x')")),
        case("missing key", node("bridgeTest(name: 'unit')")),
        case("mistyped key", node("bridgeBuild(noCache: 'yes')")),
        case(
            "GString and Integer values pass the check",
            node("def n = 'unit'; bridgeTest(name: \"${n}\", run: 'true', image: 'busybox')"),
            [{"match": "^docker run", "status": 0}],
        ),
        # bridgeValidate
        case(
            "validate ok",
            node("bridgeValidate(descriptor: 'svc.yaml')"),
            [{"match": " validate ", "result": envelope("ok")}],
        ),
        case(
            "validate fails",
            node("bridgeValidate(descriptor: 'svc.yaml')"),
            [
                {
                    "match": " validate ",
                    "status": 2,
                    "result": envelope("error", errors=["svc.yaml:3: name: required"]),
                }
            ],
        ),
        # bridgeBuild
        case(
            "build records the image",
            node(
                "bridgeBuild(noCache: true); "
                "echo(env.BRIDGE_IMAGE + ' tag=' + env.BRIDGE_IMAGE_TAG)"
            ),
            [
                {
                    "match": " image build ",
                    "result": envelope(
                        "ok",
                        {
                            "reference": "registry.example/team/app:3f2c1a9",
                            "repository": "registry.example/team/app",
                        },
                    ),
                }
            ],
        ),
        case(
            "build fails",
            node("bridgeBuild()"),
            [
                {
                    "match": " image build ",
                    "status": 1,
                    "result": envelope("error", errors=["Dockerfile not found"]),
                }
            ],
        ),
        # bridgeTest
        case(
            "test in the image",
            node("bridgeTest(name: 'unit', run: 'pytest', image: 'app:1')"),
            [{"match": "^docker run", "status": 0}],
        ),
        case(
            "test in the workspace",
            node("bridgeTest(name: 'lint', run: 'make lint')"),
            [{"match": "^sh -c", "status": 0}],
        ),
        case(
            "test fails",
            node("bridgeTest(name: 'unit', run: 'pytest', image: 'app:1')"),
            [{"match": "^docker run", "status": 1}],
        ),
        # bridgePush
        case(
            "push binds the registry credentials",
            node(f"bridgePush(resolved: {R}, tag: '3f2c1a9'); echo('ref=' + env.BRIDGE_IMAGE_REF)"),
            [
                {
                    "match": " image push ",
                    "logCredentials": True,
                    "result": envelope("ok", {"reference": DIGEST}),
                }
            ],
        ),
        case("push without a tag", node("bridgePush()")),
        case(
            "push fails",
            node("bridgePush(tag: 'x')"),
            [
                {
                    "match": " image push ",
                    "status": 1,
                    "result": envelope("error", errors=["denied"]),
                }
            ],
        ),
        # bridgeDeploy
        case(
            "deploy binds the app's and the companions' secrets",
            node(f"{DEPLOY}, timeout: 300)"),
            [deploy_live],
        ),
        case(
            "deploy archives a record without secrets",
            f"node('linux') {{ {DEPLOY}); echo('archived: ' + readFile('deploy-staging.json')) }}",
            [
                {
                    "match": ' deploy "',
                    "result": envelope(
                        "live",
                        {
                            "result": "live",
                            "record": record(detail=f"hook said token={SECRET_MARK}app-token"),
                            "steps": [{"name": "pre-switch", "output": f"{SECRET_MARK}app-token"}],
                        },
                    ),
                }
            ],
        ),
        case(
            "deploy failure redacts the bound secrets",
            f"node('linux') {{ try {{ {DEPLOY}) }} "
            "finally { echo('archived: ' + readFile('deploy-staging.json')) } }",
            [
                {
                    "match": ' deploy "',
                    "status": 1,
                    "result": envelope(
                        "error",
                        {
                            "steps": [
                                {
                                    "name": "pre-switch",
                                    "output": f"DB_PASSWORD={SECRET_MARK}db-password",
                                }
                            ]
                        },
                        errors=[
                            f"pre-switch hook failed: password {SECRET_MARK}db-password rejected"
                        ],
                    ),
                }
            ],
        ),
        case(
            "redaction of a value JSON escapes",
            node(f"bridgeDeploy(resolved: {ODD}, environment: 'staging', image: 'app:1')"),
            [
                {
                    "match": ' deploy "',
                    "status": 1,
                    "result": envelope("error", errors=[f"bad value {SECRET_MARK}{ODD_ID} here"]),
                }
            ],
        ),
        case(
            "first deploy rolled back",
            node(f"{DEPLOY})"),
            [
                {
                    "match": ' deploy "',
                    "status": 3,
                    "result": envelope(
                        "rolled-back",
                        {
                            "result": "rolled-back",
                            "record": record(previous=None, result="rolled-back"),
                        },
                    ),
                }
            ],
        ),
        case(
            "canary rolled back",
            node(f"{DEPLOY})"),
            [
                {
                    "match": ' deploy "',
                    "status": 3,
                    "result": envelope(
                        "rolled-back",
                        {
                            "result": "rolled-back",
                            "record": record(result="rolled-back"),
                            "canary": {
                                "steps": [10, 50, 100],
                                "results": [
                                    {"step": 1, "percent": 10, "outcome": "pass"},
                                    {"step": 2, "percent": 50, "outcome": "fail"},
                                ],
                            },
                        },
                    ),
                }
            ],
        ),
        case(
            "rolled back, unstable",
            f"node('linux') {{ {DEPLOY}, onRollback: 'UNSTABLE'); echo('after') }}",
            [
                {
                    "match": ' deploy "',
                    "status": 3,
                    "result": envelope(
                        "rolled-back",
                        {"result": "rolled-back", "record": record(result="rolled-back")},
                    ),
                }
            ],
        ),
        case(
            "deploy bad onRollback",
            node("bridgeDeploy(environment: 'staging', image: 'x', onRollback: 'IGNORE')"),
        ),
        case("deploy without an image", node("bridgeDeploy(environment: 'staging')")),
        case(
            "deploy fails",
            node("bridgeDeploy(environment: 'staging', image: 'app:1')"),
            [
                {
                    "match": ' deploy "',
                    "status": 1,
                    "result": envelope("error", errors=["lock held by build 7"]),
                }
            ],
        ),
        # bridgeRollback
        case(
            "rollback binds the secrets",
            node(f"bridgeRollback(resolved: {R}, environment: 'production')"),
            [
                {
                    "match": ' rollback "',
                    "logCredentials": True,
                    "result": envelope(
                        "live",
                        {
                            "result": "live",
                            "record": record(
                                action="rollback",
                                environment="production",
                                digest=PREVIOUS,
                                previous=DIGEST,
                            ),
                        },
                    ),
                }
            ],
        ),
        case(
            "rollback to a version",
            node(f"bridgeRollback(environment: 'production', to: '{PREVIOUS}')"),
            [
                {
                    "match": ' rollback "',
                    "result": envelope(
                        "live",
                        {"result": "live", "record": record(action="rollback", digest=PREVIOUS)},
                    ),
                }
            ],
        ),
        case(
            "rollback fails",
            node("bridgeRollback(environment: 'production')"),
            [
                {
                    "match": ' rollback "',
                    "status": 1,
                    "result": envelope("error", errors=["no earlier live version in history"]),
                }
            ],
        ),
        # bridgePipeline
        case(
            "pipeline in a multibranch job",
            "bridgePipeline()",
            PIPELINE_RULES,
            env={"BRANCH_NAME": "main"},
            yaml=SERVICE_YAML,
        ),
        case(
            "pipeline on another branch",
            "bridgePipeline()",
            PIPELINE_RULES,
            env={"BRANCH_NAME": "feature/x"},
            yaml=SERVICE_YAML,
        ),
        # a plain pipeline job: no BRANCH_NAME; checkout returns GIT_BRANCH=origin/main
        case("pipeline in a plain job", "bridgePipeline()", PIPELINE_RULES, yaml=SERVICE_YAML),
        case(
            "pipeline in a plain job, other deploy branch",
            "bridgePipeline(branch: 'release')",
            PIPELINE_RULES,
            yaml=SERVICE_YAML,
        ),
    ]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseOutcome]:
    return run_steps(cases(), tmp_path_factory.mktemp("sandbox-steps"))


def logged(outcome: CaseOutcome) -> list[str]:
    return [line.strip().removeprefix("log: ") for line in outcome.log]


def ok(outcomes: dict[str, CaseOutcome], name: str) -> CaseOutcome:
    outcome = outcomes[name]
    assert outcome.ok, f"{name}: {outcome.failure}\n" + "\n".join(outcome.log)
    return outcome


def failed(outcomes: dict[str, CaseOutcome], name: str, message: str) -> CaseOutcome:
    outcome = outcomes[name]
    assert outcome.status == "FAILURE", f"{name} succeeded:\n" + "\n".join(outcome.log)
    assert "RejectedAccessException" not in outcome.failure, outcome.failure
    assert message in outcome.failure, outcome.failure
    return outcome


def test_setup(outcomes: dict[str, CaseOutcome]) -> None:
    assert f"echo: cli={CLI}" in logged(ok(outcomes, "setup returns the CLI"))
    failed(outcomes, "setup install failed", "bridgeSetup: pip could not install jenkins-bridge")
    failed(
        outcomes,
        "setup version mismatch",
        f"reports 'jenkins-bridge 0.0.9', but this library is version {VERSION}",
    )


def test_the_key_table_is_checked_in_the_sandbox(outcomes: dict[str, CaseOutcome]) -> None:
    failed(outcomes, "unknown key", "bridgeValidate: unknown key 'bogus'")
    failed(outcomes, "missing key", "bridgeTest: missing required key 'run'")
    failed(outcomes, "mistyped key", "bridgeBuild: key 'noCache' must be a Boolean")
    ok(outcomes, "GString and Integer values pass the check")


def test_validate_build_and_test(outcomes: dict[str, CaseOutcome]) -> None:
    ok(outcomes, "validate ok")
    failed(outcomes, "validate fails", "validate failed (exit 2): svc.yaml:3: name: required")
    built = logged(ok(outcomes, "build records the image"))
    assert "echo: registry.example/team/app:3f2c1a9 tag=3f2c1a9" in built
    failed(outcomes, "build fails", "image build failed (exit 1): Dockerfile not found")
    ok(outcomes, "test in the image")
    ok(outcomes, "test in the workspace")
    failed(outcomes, "test fails", "bridgeTest: test 'unit' failed (exit 1)")


def test_push(outcomes: dict[str, CaseOutcome]) -> None:
    pushed = logged(ok(outcomes, "push binds the registry credentials"))
    assert "credentials for / image push /: REGISTRY_PASSWORD,REGISTRY_USER" in pushed
    assert f"echo: ref={DIGEST}" in pushed
    assert f"description: pushed {DIGEST}" in pushed
    failed(outcomes, "push without a tag", "bridgePush: no tag to push")
    failed(outcomes, "push fails", "image push failed (exit 1): denied")


def test_deploy_binds_every_secret_the_descriptor_names(outcomes: dict[str, CaseOutcome]) -> None:
    lines = logged(ok(outcomes, "deploy binds the app's and the companions' secrets"))
    assert 'credentials for / deploy "/: APP_TOKEN,DB_PASSWORD' in lines
    assert f"description: staging: {DIGEST} live" in lines


def test_deploy_archives_nothing_that_may_hold_a_secret(outcomes: dict[str, CaseOutcome]) -> None:
    live = ok(outcomes, "deploy archives a record without secrets")
    lines = logged(live)
    assert "archiveArtifacts deploy-staging.json" in lines
    archived = next(line for line in lines if line.startswith("echo: archived: "))
    record_json = json.loads(archived.removeprefix("echo: archived: "))
    assert record_json["record"]["digest"] == DIGEST
    failure = outcomes["deploy failure redacts the bound secrets"]
    failed(outcomes, "deploy failure redacts the bound secrets", "pre-switch hook failed: password")
    odd = failed(outcomes, "redaction of a value JSON escapes", "(exit 1): bad value **** here")
    for outcome in (live, failure, odd):
        assert SECRET_MARK not in outcome.failure
        assert not [line for line in outcome.log if SECRET_MARK in line], outcome.log


def test_deploy_rollbacks(outcomes: dict[str, CaseOutcome]) -> None:
    first = failed(
        outcomes, "first deploy rolled back", "failed its health check and was rolled back"
    )
    assert "null" not in first.failure
    assert "no earlier version was serving" in first.failure
    canary = failed(
        outcomes,
        "canary rolled back",
        "failed its canary analysis at step 2 (50 %) and was rolled back",
    )
    assert f"{PREVIOUS} is serving" in canary.failure
    unstable = logged(ok(outcomes, "rolled back, unstable"))
    assert any(
        line.startswith("unstable: ") and f"{PREVIOUS} is serving" in line for line in unstable
    )
    assert "echo: after" in unstable
    failed(outcomes, "deploy bad onRollback", "onRollback must be 'FAILURE' or 'UNSTABLE'")
    failed(outcomes, "deploy without an image", "bridgeDeploy: no image to deploy")
    failed(outcomes, "deploy fails", "deploy to staging failed (exit 1): lock held by build 7")


def test_rollback(outcomes: dict[str, CaseOutcome]) -> None:
    lines = logged(ok(outcomes, "rollback binds the secrets"))
    assert 'credentials for / rollback "/: APP_TOKEN,DB_PASSWORD' in lines
    assert f"description: production: rolled back, {PREVIOUS} serving" in lines
    ok(outcomes, "rollback to a version")
    failed(outcomes, "rollback fails", "rollback of production failed (exit 1): no earlier live")


PIPELINE_STAGES = [
    "stage Checkout",
    "stage Validate",
    "stage Build image",
    "stage Test: unit",
    "stage Push image",
    "stage Deploy: staging",
    "stage Deploy: production",
]


@pytest.mark.parametrize(
    ("name", "deploys"),
    [
        ("pipeline in a multibranch job", True),
        ("pipeline on another branch", False),
        ("pipeline in a plain job", True),
        ("pipeline in a plain job, other deploy branch", False),
    ],
)
def test_pipeline(outcomes: dict[str, CaseOutcome], name: str, deploys: bool) -> None:
    stages = [line for line in logged(ok(outcomes, name)) if line.startswith("stage ")]
    assert stages == (PIPELINE_STAGES if deploys else PIPELINE_STAGES[:4])


def test_no_case_was_rejected_by_the_sandbox(outcomes: dict[str, CaseOutcome]) -> None:
    rejected = {n: o.failure for n, o in outcomes.items() if "RejectedAccess" in o.failure}
    assert not rejected
