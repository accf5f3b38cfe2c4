"""What jenkins-bridge generates loads whole on the controller (issue #7): a team folder and a
job inside it can be created and deleted; a multibranch project's page and api/json answer;
a first build of a generated pipeline is not drift.

The first-build job is a plain pipeline job: it holds its script, so nothing needs to be
committed anywhere. Against a real Jenkins it needs the library (``JENKINS_BRIDGE_LIBRARY_REPO``
or ``JENKINS_BRIDGE_LIBRARY_SCOPE=global``); ``JENKINS_CONTRACT_REPO`` (+
``JENKINS_CONTRACT_CREDENTIALS_ID``) optionally names a repository the checkout can read (see
docs/jenkins/controller.md). Declarative saves the job before any stage runs,
so a checkout that fails does not weaken the test.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from conftest import CliResult

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.job_config import render_folder_config, render_job_config

from .conftest import Target

Cli = Callable[..., CliResult]
HERE = Path(__file__).resolve().parent
XML = {"Content-Type": "application/xml"}
PLACEHOLDER_REPO = "https://git.example.com/contract/app.git"
BUILD_WAIT_SECONDS = float(os.environ.get("JENKINS_CONTRACT_BUILD_WAIT", "600"))


def _url(target: Target, full_name: str) -> str:
    return target.url.rstrip("/") + "/" + "".join(f"job/{quote(p)}/" for p in full_name.split("/"))


def _create(target: Target, parent: str | None, name: str, xml: str) -> requests.Response:
    base = _url(target, parent) if parent else target.url.rstrip("/") + "/"
    return requests.post(
        base + "createItem", params={"name": name}, data=xml.encode(), headers=XML,
        auth=target.auth, timeout=60,
    )  # fmt: skip


def _delete(target: Target, full_name: str) -> requests.Response:
    return requests.post(
        _url(target, full_name) + "doDelete", auth=target.auth, timeout=60, allow_redirects=False
    )


def _service(tmp_path: Path, team: str, repo: str, text: str | None = None) -> Path:
    source = text or (HERE / "first-build.yaml").read_text(encoding="utf-8")
    source = source.replace("team: contract", f"team: {team}").replace(PLACEHOLDER_REPO, repo)
    root = tmp_path / "services"
    root.mkdir(exist_ok=True)
    (root / "app.yaml").write_text(source, encoding="utf-8")
    return root


def test_folder_and_job_inside_it_create_and_delete(target: Target, tmp_path: Path) -> None:
    (service,) = load_services([_service(tmp_path, target.team, PLACEHOLDER_REPO)])
    assert _create(target, None, target.team, render_folder_config(target.team)).ok
    assert _create(target, target.team, "app", render_job_config(service)).ok
    assert requests.get(_url(target, target.team), auth=target.auth, timeout=60).ok
    deleted = _delete(target, f"{target.team}/app")
    assert deleted.status_code in (200, 302), deleted.text[:500]
    gone = requests.get(_url(target, f"{target.team}/app") + "api/json", auth=target.auth)
    assert gone.status_code == 404
    assert _delete(target, target.team).status_code in (200, 302)


def test_multibranch_project_page_and_api_json(target: Target, tmp_path: Path) -> None:
    text = (HERE / "first-build.yaml").read_text(encoding="utf-8")
    text = text.replace("pipeline:\n", "pipeline:\n  jobType: multibranch\n", 1)
    (service,) = load_services([_service(tmp_path, target.team, PLACEHOLDER_REPO, text)])
    assert _create(target, None, target.team, render_folder_config(target.team)).ok
    assert _create(target, target.team, "app", render_job_config(service)).ok
    project = _url(target, f"{target.team}/app")
    assert requests.get(project, auth=target.auth, timeout=60).status_code == 200
    listing = requests.get(project + "api/json", auth=target.auth, timeout=60)
    assert listing.status_code == 200
    assert listing.json()["_class"].endswith("WorkflowMultiBranchProject")


def _wait_for_first_build(target: Target, job: str) -> None:
    deadline = time.monotonic() + BUILD_WAIT_SECONDS
    query = {"tree": "lastCompletedBuild[number,result]"}
    while True:
        state = requests.get(_url(target, job) + "api/json", params=query, auth=target.auth)
        state.raise_for_status()
        if (state.json().get("lastCompletedBuild") or {}).get("number"):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{job}: no completed build after {BUILD_WAIT_SECONDS:.0f}s")
        time.sleep(2)


def test_first_build_of_a_generated_pipeline_is_not_drift(
    cli: Cli, target: Target, tmp_path: Path
) -> None:
    repo = os.environ.get("JENKINS_CONTRACT_REPO", PLACEHOLDER_REPO)
    text = (HERE / "first-build.yaml").read_text(encoding="utf-8")
    credentials = os.environ.get("JENKINS_CONTRACT_CREDENTIALS_ID")
    if credentials:
        text = text.replace(f"repo: {PLACEHOLDER_REPO}", f"repo: {PLACEHOLDER_REPO}, "
                            f"credentialsId: {credentials}")  # fmt: skip
    root = _service(tmp_path, target.team, repo, text)
    applied = cli("apply", str(root))
    assert applied.exit_code == 0, applied.stderr
    job = f"{target.team}/app"
    queued = requests.post(
        _url(target, job) + "buildWithParameters", auth=target.auth, timeout=60,
        allow_redirects=False,
    )  # fmt: skip
    assert queued.status_code == 201, queued.text[:500]
    _wait_for_first_build(target, job)
    saved = requests.get(_url(target, job) + "config.xml", auth=target.auth, timeout=60)
    actions = ET.fromstring(saved.content).find("actions")
    tags = [a.tag for a in (actions if actions is not None else [])]
    # proof that declarative ran its properties step and saved the job
    assert any(t.endswith("DeclarativeJobPropertyTrackerAction") for t in tags), tags
    verified = cli("plan", str(root), "--verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
