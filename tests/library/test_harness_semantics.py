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
