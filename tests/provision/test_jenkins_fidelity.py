"""Provisioned items behave on a controller as Jenkins behaves (issue #7): folders and
multibranch projects load whole, a first build is not drift, a real UI edit is, and the shared
library the pipelines load is provisioned or checked."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from conftest import CliResult, post_by_hand

from jenkins_bridge.testing import JenkinsEmulator
from jenkins_bridge.testing.declarative import TRACKER_ACTION

from .conftest import LIBRARY_REPO, TOKEN, USER, write_service

Cli = Callable[..., CliResult]
FAST = ("--max-rps", "0")
PIPELINE = """pipeline:
  parameters:
    - {name: TARGET}
    - {name: NOTES, type: text, default: ''}
    - {name: DRY_RUN, type: boolean}
    - {name: REGION, type: choice, choices: [eu, us], default: us}
  triggers: {poll: 'H/15 * * * *', cron: 'H 3 * * *'}"""


def _services(root: Path) -> Path:
    path = write_service(root, "payments", "api")
    path.write_text(path.read_text(encoding="utf-8") + PIPELINE + "\n", encoding="utf-8")
    write_service(root, "payments", "worker")
    return root


def _get(emulator: JenkinsEmulator, path: str) -> requests.Response:
    return requests.get(emulator.url + path, auth=(USER, TOKEN), timeout=10)


def test_team_folder_loads_whole_so_pages_and_deletes_inside_work(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = _services(tmp_path / "d")
    assert cli("apply", str(root), *FAST).exit_code == 0
    assert _get(jenkins_env, "job/payments/").status_code == 200
    assert _get(jenkins_env, "job/payments/api/json").json()["views"][0]["name"] == "all"
    (root / "payments" / "worker.yaml").unlink()
    pruned = cli("apply", str(root), "--prune=delete", "--yes", *FAST)
    assert pruned.exit_code == 0, pruned.stdout + pruned.stderr
    assert "payments/worker" not in jenkins_env.items


def test_multibranch_project_page_api_and_orphan_deletes_work(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = tmp_path / "d"
    write_service(root, "frontend", "web", pipeline="{jobType: multibranch}")
    assert cli("apply", str(root), *FAST).exit_code == 0
    jenkins_env.add_branch("frontend/web", "feature-1")
    assert _get(jenkins_env, "job/frontend/job/web/").status_code == 200
    listing = _get(jenkins_env, "job/frontend/job/web/api/json")
    assert listing.status_code == 200 and listing.json()["jobs"][0]["name"] == "feature-1"
    orphan = requests.post(
        jenkins_env.url + "job/frontend/job/web/job/feature-1/doDelete",
        auth=(USER, TOKEN),
        allow_redirects=False,
        timeout=10,
    )
    assert orphan.status_code == 302


def test_first_build_is_not_drift(cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path) -> None:
    root = _services(tmp_path / "d")
    assert cli("apply", str(root), *FAST).exit_code == 0
    before = jenkins_env.items["payments/api"].config_xml
    jenkins_env.build("payments/api")
    jenkins_env.build("payments/worker")
    assert jenkins_env.items["payments/api"].config_xml != before  # Jenkins saved the job
    assert "DeclarativeJobPropertyTrackerAction" in jenkins_env.items["payments/api"].config_xml
    verified = cli("plan", str(root), "--verify", *FAST)
    assert verified.exit_code == 0, verified.stdout


def test_first_build_of_a_job_from_an_older_render_is_not_drift(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    """Jobs created before this release carry empty <description/> and <defaultValue/> and
    an Arrays$ArrayList of choices; declarative rebinds them on the first build."""
    root = _services(tmp_path / "d")
    assert cli("apply", str(root), *FAST).exit_code == 0
    live = jenkins_env.items["payments/api"].config_xml.split("\n", 1)[1]
    older = live.replace(
        "<name>TARGET</name>", "<name>TARGET</name><description /><defaultValue />"
    )
    older, replaced = re.subn(
        r"<choices>\s*<string>us</string>\s*<string>eu</string>\s*</choices>",
        '<choices class="java.util.Arrays$ArrayList"><a class="string-array">'
        "<string>us</string><string>eu</string></a></choices>",
        older,
    )
    assert replaced == 1 and older.count("<description />") >= 1
    post_by_hand(jenkins_env, "job/payments/job/api/config.xml", older)
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0
    jenkins_env.build("payments/api")
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<name>TARGET</name>", "<name>TARGET</name><defaultValue>prod</defaultValue>"),
        ("<name>TARGET</name>", "<name>TARGET</name><description>typed in the UI</description>"),
        ("<spec>H/15 * * * *</spec>", "<spec>H/5 * * * *</spec>"),
        ("skipDefaultCheckout()", "skipDefaultCheckout()\n        quietPeriod(0)"),
        ("<sandbox>true</sandbox>", "<sandbox>false</sandbox>"),
        ("<string>us</string>", "<string>asia</string>"),
        ("<numToKeep>20</numToKeep>", "<numToKeep>99</numToKeep>"),
    ],
    ids=["default", "description", "trigger-spec", "script", "sandbox", "choice", "discarder"],
)
def test_an_edit_in_the_ui_after_a_build_is_drift(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, old: str, new: str
) -> None:
    root = _services(tmp_path / "d")
    assert cli("apply", str(root), *FAST).exit_code == 0
    jenkins_env.build("payments/api")
    live = jenkins_env.items["payments/api"].config_xml.split("\n", 1)[1]
    assert old in live
    post_by_hand(jenkins_env, "job/payments/job/api/config.xml", live.replace(old, new, 1))
    verified = cli("plan", str(root), "--verify", *FAST)
    assert verified.exit_code == 2
    assert "~ update job payments/api (drift)" in verified.stdout
    reverted = cli("apply", str(root), "--verify", *FAST)
    assert reverted.exit_code == 0
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0


def test_library_is_provisioned_on_every_team_folder(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    root = _services(tmp_path / "d")
    write_service(root, "frontend", "web")
    applied = cli("apply", str(root), "--library-credentials-id", "git-read", *FAST)
    assert applied.exit_code == 0, applied.stderr
    for team in ("payments", "frontend"):
        folder = jenkins_env.items[team].config_xml
        assert "<org.jenkinsci.plugins.workflow.libs.FolderLibraries" in folder
        assert "<name>jenkins-bridge</name>" in folder
        assert f"<remote>{LIBRARY_REPO}</remote>" in folder
        assert "<credentialsId>git-read</credentialsId>" in folder
        assert "<defaultVersion>v0.1.0</defaultVersion>" in folder


def test_without_a_library_the_apply_stops_before_any_change(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JENKINS_BRIDGE_LIBRARY_REPO")
    root = _services(tmp_path / "d")
    refused = cli("apply", str(root), *FAST)
    assert refused.exit_code == 1
    assert "@Library('jenkins-bridge@v0.1.0')" in refused.stderr
    assert "--library-repo" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert jenkins_env.items == {}
    global_scope = cli("apply", str(root), "--library-scope", "global", *FAST)
    assert global_scope.exit_code == 0, global_scope.stderr
    assert "FolderLibraries" not in jenkins_env.items["payments"].config_xml


def test_global_library_needs_the_library_plugin(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from jenkins_bridge.testing.jenkins_model import DEFAULT_PLUGINS

    plugins = {k: v for k, v in DEFAULT_PLUGINS.items() if k != "pipeline-groovy-lib"}
    root = _services(tmp_path / "d")
    with JenkinsEmulator(users={USER: TOKEN}, plugins=plugins) as emu:
        monkeypatch.setenv("JENKINS_URL", emu.url)
        monkeypatch.setenv("JENKINS_USER", USER)
        monkeypatch.setenv("JENKINS_TOKEN", TOKEN)
        monkeypatch.setenv("JENKINS_BRIDGE_LIBRARY_SCOPE", "global")
        refused = cli("plan", str(root), *FAST)
        assert refused.exit_code == 1
        assert "lacks the plugin pipeline-groovy-lib" in refused.stderr
        assert emu.items == {}


FULL_HOLDER = (
    '<folderViews class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder">'
    '<views><hudson.model.AllView><owner class="com.cloudbees.hudson.plugins.folder.Folder" '
    'reference="../../../.."/><name>All</name><filterExecutors>false</filterExecutors>'
    "<filterQueue>false</filterQueue>"
    '<properties class="hudson.model.View$PropertyList"/></hudson.model.AllView></views>'
    '<tabBar class="hudson.views.DefaultViewsTabBar"/></folderViews><healthMetrics/>'
)
EMPTY_HOLDER = (
    '<folderViews class="com.cloudbees.hudson.plugins.folder.views.DefaultFolderViewHolder"/>'
    "<healthMetrics/>"
)


@pytest.mark.parametrize(
    ("holder", "drift"), [(FULL_HOLDER, False), (EMPTY_HOLDER, True)], ids=["saved", "half-built"]
)
def test_folder_view_holder_is_drift_only_when_half_built(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path, holder: str, drift: bool
) -> None:
    root = _services(tmp_path / "d")
    assert cli("apply", str(root), *FAST).exit_code == 0
    live = jenkins_env.items["payments"].config_xml.split("\n", 1)[1]
    post_by_hand(
        jenkins_env, "job/payments/config.xml", live.replace("<icon ", holder + "<icon ", 1)
    )
    verified = cli("plan", str(root), "--verify", *FAST)
    assert verified.exit_code == (2 if drift else 0), verified.stdout
    if drift:
        assert "~ update folder payments (drift)" in verified.stdout
        assert _get(jenkins_env, "job/payments/").status_code == 500
        assert cli("apply", str(root), "--verify", *FAST).exit_code == 0
        assert _get(jenkins_env, "job/payments/").status_code == 200


def test_a_first_build_of_a_plain_job_records_its_declarative_options_and_is_no_drift(
    cli: Cli, jenkins_env: JenkinsEmulator, tmp_path: Path
) -> None:
    """The job holds its script (CpsFlowDefinition), whose `skipDefaultCheckout()` is a
    DeclarativeOption: the first build's tracker action names it, and that is Jenkins' own
    bookkeeping, not drift."""
    root = _services(tmp_path / "d")
    assert cli("apply", str(root), *FAST).exit_code == 0
    jenkins_env.build("payments/api")
    saved = ET.fromstring(jenkins_env.items["payments/api"].config_xml.split("\n", 1)[1])
    tracker = saved.find(f"actions/{TRACKER_ACTION}")
    assert tracker is not None
    assert [s.text for s in tracker.iterfind("options/string")] == ["skipDefaultCheckout"]
    assert cli("plan", str(root), "--verify", *FAST).exit_code == 0
