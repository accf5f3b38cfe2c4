"""Ownership line, config digest and config normalisation (pure)."""

from __future__ import annotations

from pathlib import Path

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.provision.state import (
    LiveItem,
    build_desired,
    config_digest,
    normalise_config,
    parse_live,
    stamp,
)
from jenkins_bridge.render.job_config import MANAGED_MARKER, render_job_config

from .conftest import write_service

SHA = "a" * 64


def test_digest_ignores_plugin_versions_but_not_content(tmp_path: Path) -> None:
    write_service(tmp_path, "team-a", "api")
    [service] = load_services([str(tmp_path)])
    old = render_job_config(service, {"workflow-job": "1.0", "git": "4.0"})
    new = render_job_config(service, {"workflow-job": "2.0", "git": "5.0"})
    assert old != new
    assert config_digest(old) == config_digest(new)
    assert config_digest(old) != config_digest(old.replace("*/main", "*/dev"))


def test_stamp_replaces_marker_line_and_escapes() -> None:
    xml = "<a><description>Tom &amp; Jerry\n[managed by jenkins-bridge] source: x</description></a>"
    stamped = stamp(xml, SHA, "dir/a & b.yaml")
    assert "Tom &amp; Jerry\n" in stamped
    assert f"{MANAGED_MARKER} sha256={SHA} source=dir/a &amp; b.yaml</description>" in stamped
    assert stamped.count(MANAGED_MARKER) == 1


def test_live_item_reads_ownership_from_last_marker_line() -> None:
    item = LiveItem("t/a", "x", f"hello\n{MANAGED_MARKER} sha256={SHA} source=t/a.yaml", "blue")
    assert item.ownership == (True, SHA, "t/a.yaml")
    assert LiveItem("t/a", "x", "someone else's job", None).ownership == (False, None, None)
    assert LiveItem("t/a", "x", None, None).managed is False
    # The bare marker (renderer output, or an older tool version) is managed, with no hash.
    assert LiveItem("t/a", "x", MANAGED_MARKER, None).ownership == (True, None, None)


def test_desired_configs_carry_their_own_hash(tmp_path: Path) -> None:
    write_service(tmp_path, "team-a", "api")
    desired = build_desired(load_services([str(tmp_path)]), {"git": "5.0"})
    assert set(desired.items) == {"team-a", "team-a/api"}
    job = desired.items["team-a/api"]
    assert f"sha256={job.sha256} source=team-a/api.yaml" in job.config_xml
    assert 'plugin="git@5.0"' in job.config_xml
    assert desired.items["team-a"].kind == "folder"


def test_parse_live_flattens_folders_case_insensitively() -> None:
    folder = "com.cloudbees.hudson.plugins.folder.Folder"
    jobs = [
        {
            "_class": folder,
            "name": "Team",
            "fullName": "Team",
            "jobs": [
                {
                    "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
                    "name": "a",
                    "fullName": "Team/a",
                    "color": "disabled",
                    "description": None,
                },
            ],
        },
    ]
    live = parse_live(jobs)
    found = live.get("team/A")
    assert found is not None and found.full_name == "Team/a" and found.disabled


def test_normalise_ignores_declaration_plugins_whitespace_attribute_order() -> None:
    ours = (
        '<?xml version=\'1.1\' encoding=\'UTF-8\'?>\n<a plugin="x@1"><b class="c" d="e">t</b>\n</a>'
    )
    theirs = (
        '<?xml version="1.1" encoding="UTF-8"?><a plugin="x@2">\n  <b d="e" class="c"> t </b></a>'
    )
    assert normalise_config(ours) == normalise_config(theirs)
    assert normalise_config(ours) != normalise_config(ours.replace(">t<", ">u<"))
