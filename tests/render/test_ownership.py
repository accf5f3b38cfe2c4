"""The renderer writes the ownership line itself: the config it builds for provisioning is the
config ``render`` writes, with only the description's marker line replaced by that line."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import GOLDEN

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.job_config import (
    SharedLibrary,
    render_folder_config,
    render_job_config,
    render_owned_folder_config,
    render_owned_job_config,
)
from jenkins_bridge.render.ownership import (
    MANAGED_MARKER,
    Ownership,
    config_digest,
    ownership_line,
)

CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith("err-"))
PLUGINS = {"workflow-job": "1436.v", "git": "5.7.0", "cloudbees-folder": "6.9"}
REPOSITORY = "git.example.com/platform/services"


def _root(text: str) -> ET.Element:
    return ET.fromstring(text.split("\n", 1)[1])


def _without_description(root: ET.Element) -> str:
    description = root.find("description")
    assert description is not None
    root.remove(description)
    return ET.tostring(root, encoding="unicode")


def _assert_owned(on_disk: str, posted: str, sha256: str, ownership: Ownership) -> None:
    assert sha256 == config_digest(on_disk)
    disk_root, posted_root = _root(on_disk), _root(posted)
    disk_lines = (disk_root.findtext("description") or "").splitlines()
    posted_lines = (posted_root.findtext("description") or "").splitlines()
    assert posted_lines == [
        *(line for line in disk_lines if MANAGED_MARKER not in line),
        ownership.line(sha256),
    ]
    assert _without_description(disk_root) == _without_description(posted_root)
    assert posted.startswith("<?xml version='1.1' encoding='UTF-8'?>\n<")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_owned_configs_are_the_rendered_ones_with_the_ownership_line(case: Path) -> None:
    library = SharedLibrary(repo="https://git.example.com/platform/library.git")
    for service in load_services([case]):
        ownership = Ownership(service.full_name, REPOSITORY, service.origin)
        owned = render_owned_job_config(service, PLUGINS, ownership)
        on_disk = render_job_config(service, PLUGINS)
        _assert_owned(on_disk, owned.config_xml, owned.sha256, ownership)
        team = service.metadata.team
        ownership = Ownership(team, REPOSITORY, f"team:{team}")
        folder = render_owned_folder_config(team, PLUGINS, library, ownership)
        on_disk = render_folder_config(team, PLUGINS, library)
        _assert_owned(on_disk, folder.config_xml, folder.sha256, ownership)


def test_the_line_names_item_repository_and_source() -> None:
    line = Ownership("t/a b", "git.example.com/r", "t/a b.yaml").line("f" * 64)
    assert line == ownership_line("f" * 64, "t/a b.yaml", "t/a b", "git.example.com/r")
    assert line == (
        f"{MANAGED_MARKER} sha256={'f' * 64} item=t/a%20b repo=git.example.com/r source=t/a b.yaml"
    )
