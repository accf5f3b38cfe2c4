"""The harness keeps Jenkins' declarative semantics where the tests rely on them: checkout
variables inside a stage's agent only, `when` before the input with beforeInput, a failed
stage skipping the rest, and post conditions in Jenkins' order by result."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.library.harness import case, run_cases, stage_results

pytestmark = pytest.mark.groovy

JENKINSFILE = """\
pipeline {
    agent none
    parameters {
        booleanParam(name: 'GO', defaultValue: false, description: '')
    }
    stages {
        stage('with agent') {
            agent any
            steps {
                echo "inside: ${env.GIT_BRANCH}"
            }
        }
        stage('without agent') {
            steps {
                echo "outside: ${env.GIT_BRANCH}"
            }
        }
        stage('gate') {
            when {
                beforeInput true
                expression { params.GO }
            }
            input {
                message 'go?'
            }
            steps {
                echo 'gated'
            }
        }
        stage('fails') {
            steps {
                error('boom')
            }
            post {
                failure { echo 'stage failure' }
                always { echo 'stage always' }
                success { echo 'stage success' }
            }
        }
        stage('after') {
            steps {
                echo 'never'
            }
        }
    }
    post {
        cleanup { echo 'cleanup' }
        unsuccessful { echo 'unsuccessful' }
        success { echo 'success' }
        failure { echo 'failure' }
        regression { echo 'regression' }
        fixed { echo 'fixed' }
        changed { echo 'changed' }
        always { echo 'always' }
    }
}
"""


def test_declarative_semantics(tmp_path: Path) -> None:
    outcomes = run_cases(
        [
            case("go", script=JENKINSFILE, params={"GO": True}, previousResult="SUCCESS"),
            case("no-go", script=JENKINSFILE, previousResult="FAILURE"),
        ],
        tmp_path,
    )
    go = outcomes["go"]
    assert go["result"] == "FAILURE"
    assert go["log"] == [
        "inside: origin/main",
        "outside: null",
        "gated",
        "boom",
        "stage always",
        "stage failure",
        "always",
        "changed",
        "regression",
        "failure",
        "unsuccessful",
        "cleanup",
    ]
    assert stage_results(go) == [
        ("with agent", "SUCCESS"),
        ("without agent", "SUCCESS"),
        ("gate", "SUCCESS"),
        ("fails", "FAILURE"),
        ("after", "SKIPPED: earlier failure"),
    ]
    no_go = outcomes["no-go"]
    assert ("gate", "SKIPPED: when") in stage_results(no_go)
    assert not [c for c in no_go["calls"] if c["step"] == "input"]  # decided before the input
    assert "regression" not in no_go["log"] and "changed" not in no_go["log"]


EXPLICIT_CHECKOUT = """\
pipeline {
    agent none
    options {
        skipDefaultCheckout()
    }
    stages {
        stage('with agent') {
            agent any
            steps {
                echo "before: ${env.GIT_BRANCH}"
                echo "returned: ${git(url: 'https://g.example/a.git', branch: 'main').GIT_BRANCH}"
                echo "after: ${env.GIT_BRANCH}"
            }
        }
    }
}
"""


def test_skip_default_checkout_and_the_git_step(tmp_path: Path) -> None:
    """Under `skipDefaultCheckout()` an agent stage gets no automatic checkout (no `checkout`
    call, no GIT_* in env); the `git` step returns the checkout's variables (SCMStep returns
    them) and leaves env alone, unlike declarative's automatic checkout."""
    run = run_cases([case("explicit", script=EXPLICIT_CHECKOUT)], tmp_path)["explicit"]
    assert run["result"] == "SUCCESS", run["log"]
    assert run["log"] == ["before: null", "returned: origin/main", "after: null"]
    assert [c["step"] for c in run["calls"] if c["step"] in ("checkout", "git")] == ["git"]


DECLINED = """\
pipeline {
    agent none
    stages {
        stage('approve') {
            input {
                message 'go?'
            }
            steps {
                echo 'approved'
            }
            post {
                aborted { echo 'stage aborted' }
                always { echo 'stage always' }
            }
        }
    }
    post {
        aborted { echo 'build aborted' }
    }
}
"""


def test_a_declined_input_runs_no_post_of_its_stage(tmp_path: Path) -> None:
    """ModelInterpreter.evaluateStage asks the input (stageInput) outside executeSingleStage,
    which alone runs a non-parallel stage's post: a declined or expired input aborts the build,
    and only the top-level post runs."""
    runs = run_cases(
        [
            case("declined", script=DECLINED, inputs={"approve": "reject"}),
            case("approved", script=DECLINED),
        ],
        tmp_path,
    )
    declined = runs["declined"]
    assert declined["result"] == "ABORTED"
    assert "stage aborted" not in declined["log"] and "stage always" not in declined["log"]
    assert declined["log"][-1] == "build aborted"
    assert runs["approved"]["log"] == ["approved", "stage always"]
