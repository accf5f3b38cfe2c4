"""Ownership line, config digest and config normalisation (pure)."""

from __future__ import annotations

from pathlib import Path

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.provision.state import (
    LiveItem,
    Owner,
    build_desired,
    claim,
    normalise_config,
    parse_live,
)
from jenkins_bridge.render.job_config import render_job_config
from jenkins_bridge.render.ownership import MANAGED_MARKER, config_digest, ownership_line

from .conftest import legacy_ownership_line, write_service

SHA = "a" * 64


def test_digest_ignores_plugin_versions_but_not_content(tmp_path: Path) -> None:
    write_service(tmp_path, "team-a", "api")
    [service] = load_services([str(tmp_path)])
    old = render_job_config(service, {"workflow-job": "1.0", "workflow-cps": "4.0"})
    new = render_job_config(service, {"workflow-job": "2.0", "workflow-cps": "5.0"})
    assert old != new
    assert config_digest(old) == config_digest(new)
    assert config_digest(old) != config_digest(old.replace("branch: 'main'", "branch: 'dev'"))


def test_ownership_line_quotes_names_and_is_read_back() -> None:
    line = ownership_line(SHA, "dir/a & b.yaml", "t/a b", "git.example.com/r")
    assert line == (
        f"{MANAGED_MARKER} sha256={SHA} item=t/a%20b repo=git.example.com/r source=dir/a & b.yaml"
    )
    marker = LiveItem("t/a b", "x", f"Tom & Jerry\n{line}", None).marker
    assert marker is not None
    assert (marker.item, marker.repository, marker.source) == (
        "t/a b",
        "git.example.com/r",
        "dir/a & b.yaml",
    )


REPO = Owner("git.example.com/platform/services")


def test_live_item_reads_the_owner_from_the_last_marker_line() -> None:
    line = ownership_line(SHA, "t/a.yaml", "t/a & b", REPO.repository)
    marker = LiveItem("t/a & b", "x", f"hello\n{line}", "blue").marker
    assert marker is not None
    assert (marker.sha256, marker.item, marker.repository, marker.source) == (
        SHA,
        "t/a & b",
        REPO.repository,
        "t/a.yaml",
    )
    assert LiveItem("t/a", "x", "someone else's job", None).marker is None
    legacy = LiveItem("t/a", "x", legacy_ownership_line(SHA, "t/a.yaml"), None).marker
    assert legacy is not None and legacy.legacy and legacy.source == "t/a.yaml"


def test_only_a_line_naming_this_item_and_this_repository_is_ours() -> None:
    line = ownership_line(SHA, "t/a.yaml", "t/a", REPO.repository)
    assert claim(LiveItem("t/a", "x", line, None), REPO) == "ours"
    assert claim(LiveItem("T/A", "x", line, None), REPO) == "ours"  # Jenkins names: any case
    # "Copy from": the copy keeps the original's line, which names the original.
    assert claim(LiveItem("t/a-copy", "x", line, None), REPO) == "unmanaged"
    assert claim(LiveItem("other/a", "x", line, None), REPO) == "unmanaged"
    # Marker text alone, or the renderer's human line, is no ownership line.
    for text in (MANAGED_MARKER, f"see {MANAGED_MARKER}", f"{MANAGED_MARKER} source: t/a.yaml"):
        assert claim(LiveItem("t/a", "x", text, None), REPO) == "unmanaged"
    assert claim(LiveItem("t/a", "x", line, None), Owner("github.com/other/repo")) == "foreign"
    # Same repository, but a descriptor file this run did not read: another folder's job,
    # unless the file that describes it now is that very file.
    teams_a = Owner(REPO.repository, ("team-a/",))
    assert claim(LiveItem("t/a", "x", line, None), teams_a) == "foreign"
    assert claim(LiveItem("t/a", "x", line, None), teams_a, "t/a.yaml") == "ours"
    assert claim(LiveItem("t/a", "x", line, None), Owner(REPO.repository, ("t/",))) == "ours"
    assert claim(LiveItem("t/a", "x", line, None), Owner(REPO.repository, ("t/a.yaml",))) == "ours"
    old = legacy_ownership_line(SHA, "t/a.yaml")
    assert claim(LiveItem("t/a", "x", old, None), REPO) == "legacy"


def test_desired_configs_carry_their_own_hash(tmp_path: Path) -> None:
    write_service(tmp_path, "team-a", "api")
    desired = build_desired(load_services([str(tmp_path)]), {"workflow-cps": "5.0"})
    assert set(desired.items) == {"team-a", "team-a/api"}
    job = desired.items["team-a/api"]
    assert f"sha256={job.sha256} item=team-a/api repo=local:unnamed source=team-a/api.yaml" in (
        job.config_xml
    )
    assert 'plugin="workflow-cps@5.0"' in job.config_xml
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


def test_parse_live_lists_the_children_of_every_group() -> None:
    """Branch jobs of a multibranch project and items in nested folders are all listed."""
    folder = "com.cloudbees.hudson.plugins.folder.Folder"
    multibranch = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    jobs = [
        {
            "_class": folder,
            "name": "t",
            "jobs": [
                {"_class": multibranch, "name": "mb", "jobs": [{"name": "main"}]},
                {"_class": folder, "name": "f", "jobs": [{"_class": folder, "name": "g"}]},
            ],
        }
    ]
    assert sorted(parse_live(jobs).items) == ["t", "t/f", "t/f/g", "t/mb", "t/mb/main"]
