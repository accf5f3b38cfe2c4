"""config.xml/folder.xml as Jenkins itself saves them (issue #7), checked against the facts
read from the plugins' source; the emulator tests check the behaviour that follows."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOLDEN, CliResult

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.render.job_config import (
    BRANCH_INDEXING_INTERVAL_MS,
    SharedLibrary,
    periodic_folder_trigger_spec,
    render_folder_config,
    render_job_config,
)

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
LIBS = "org.jenkinsci.plugins.workflow.libs"


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text.split("\n", 1)[1])


@pytest.mark.parametrize(
    ("interval", "spec"),
    [
        (MINUTE, "* * * * *"),
        # each bound is inclusive: the millisecond past it takes the next, slower spec
        (5 * MINUTE, "* * * * *"),
        (5 * MINUTE + 1, "H/5 * * * *"),
        (30 * MINUTE, "H/5 * * * *"),
        (30 * MINUTE + 1, "H/15 * * * *"),
        (HOUR, "H/15 * * * *"),
        (HOUR + 1, "H/30 * * * *"),
        (8 * HOUR, "H/30 * * * *"),
        (8 * HOUR + 1, "H H/4 * * *"),
        (DAY, "H H/4 * * *"),
        (DAY + 1, "H H/12 * * *"),
        (2 * DAY, "H H/12 * * *"),
        (2 * DAY + 1, "H H * * *"),
        (7 * DAY, "H H * * *"),
    ],
)
def test_periodic_trigger_spec_follows_its_interval(interval: int, spec: str) -> None:
    # cloudbees-folder PeriodicFolderTrigger.toCrontab: `millis <= bound` picks each spec
    assert periodic_folder_trigger_spec(interval) == spec


def test_multibranch_view_holder_has_its_owner_and_trigger_matches_interval() -> None:
    (service,) = load_services([GOLDEN / "multibranch"])
    root = _parse(render_job_config(service))
    holder = root.find("folderViews")
    assert (
        holder is not None and holder.get("class") == "jenkins.branch.MultiBranchProjectViewHolder"
    )
    owner = holder.find("owner")
    assert owner is not None and owner.attrib == {"class": root.tag, "reference": "../.."}
    assert root.find("healthMetrics") is None
    trigger = root.find(
        "triggers/com.cloudbees.hudson.plugins.folder.computed.PeriodicFolderTrigger"
    )
    assert trigger is not None
    assert trigger.findtext("interval") == str(BRANCH_INDEXING_INTERVAL_MS) == str(DAY)
    assert trigger.findtext("spec") == "H H/4 * * *"


def test_folder_leaves_view_holder_and_health_metrics_to_jenkins() -> None:
    root = _parse(render_folder_config("payments"))
    assert root.find("folderViews") is None
    assert root.find("healthMetrics") is None
    assert [c.tag for c in root] == ["actions", "description", "properties", "icon"]
    assert len(root.find("properties") or []) == 0


def test_folder_carries_the_library_at_its_release_tag() -> None:
    library = SharedLibrary(repo="https://git.example.com/platform/lib.git", credentials_id="ro")
    root = _parse(render_folder_config("payments", {"pipeline-groovy-lib": "1.0"}, library))
    holder = root.find(f"properties/{LIBS}.FolderLibraries")
    assert holder is not None and holder.get("plugin") == "pipeline-groovy-lib@1.0"
    (config,) = holder.findall(f"libraries/{LIBS}.LibraryConfiguration")
    assert config.findtext("name") == "jenkins-bridge"
    assert config.findtext("defaultVersion") == "v0.1.0"
    assert config.findtext("implicit") == "false"
    assert config.findtext("allowVersionOverride") == "true"
    retriever = config.find("retriever")
    assert retriever is not None and retriever.get("class") == f"{LIBS}.SCMSourceRetriever"
    scm = retriever.find("scm")
    assert scm is not None and scm.get("class") == "jenkins.plugins.git.GitSCMSource"
    assert scm.findtext("remote") == "https://git.example.com/platform/lib.git"
    assert scm.findtext("credentialsId") == "ro"
    traits = [t.tag.rsplit(".", 1)[-1] for t in scm.find("traits") or []]
    assert traits == ["BranchDiscoveryTrait", "TagDiscoveryTrait"]


@pytest.mark.parametrize(
    "library",
    [SharedLibrary(scope="global", repo="https://x/lib.git"), SharedLibrary(), None],
    ids=["global", "folder-without-repo", "none"],
)
def test_folder_without_a_provisioned_library(library: SharedLibrary | None) -> None:
    assert "FolderLibraries" not in render_folder_config("payments", None, library)


def test_default_library_is_the_release_tag() -> None:
    (service,) = load_services([GOLDEN / "minimal"])
    assert service.pipeline.library == "jenkins-bridge@v0.1.0"


@pytest.mark.parametrize("case", ["minimal", "full", "hostile-values"])
def test_parameters_are_written_as_declarative_binds_them(case: str) -> None:
    (service,) = load_services([GOLDEN / case])
    root = _parse(render_job_config(service))
    definitions = list(root.iterfind(".//parameterDefinitions/*"))
    assert definitions
    for definition in definitions:
        for tag in ("description", "defaultValue"):
            value = definition.find(tag)
            assert value is None or (value.text or "") != "", (definition.tag, tag)
        choices = definition.find("choices")
        if choices is not None:
            assert choices.attrib == {} and all(c.tag == "string" for c in choices)


def test_render_options_and_their_environment_variables(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "https://git.example.com/platform/jenkins-bridge.git"
    flagged = cli(
        "render", str(GOLDEN / "minimal"), "-o", str(tmp_path / "a"), "--library-repo", repo
    )
    assert flagged.exit_code == 0, flagged.stderr
    folder = (tmp_path / "a" / "core" / "folder.xml").read_text(encoding="utf-8")
    assert f"<remote>{repo}</remote>" in folder
    monkeypatch.setenv("JENKINS_BRIDGE_LIBRARY_REPO", repo)
    assert cli("render", str(GOLDEN / "minimal"), "-o", str(tmp_path / "b")).exit_code == 0
    assert (tmp_path / "b" / "core" / "folder.xml").read_text(encoding="utf-8") == folder
    monkeypatch.setenv("JENKINS_BRIDGE_LIBRARY_SCOPE", "global")
    assert cli("render", str(GOLDEN / "minimal"), "-o", str(tmp_path / "c")).exit_code == 0
    assert "FolderLibraries" not in (tmp_path / "c" / "core" / "folder.xml").read_text()
    bad = cli("render", str(GOLDEN / "minimal"), "-o", str(tmp_path / "d"),
              "--library-credentials-id", "not an id")  # fmt: skip
    assert bad.exit_code == 1 and len(bad.stderr.splitlines()) == 1
    assert "--library-credentials-id" in bad.stderr


@pytest.mark.parametrize(
    "repo",
    [
        "ext::sh -c touch% /tmp/pwned",
        "--upload-pack=touch /tmp/pwned",
        "file:///srv/git/library.git",
        "/srv/git/library.git",
        "https://deploy:s3cret@git.example.com/platform/library.git",
    ],
)
def test_library_repo_follows_the_source_repo_rules(
    cli: Callable[..., CliResult], tmp_path: Path, repo: str
) -> None:
    """The library repository reaches the folder config (and git) like source.repo does."""
    bad = cli("render", str(GOLDEN / "minimal"), "-o", str(tmp_path / "o"), "--library-repo", repo)
    assert bad.exit_code == 1 and len(bad.stderr.splitlines()) == 1, bad.stderr
    assert "--library-repo" in bad.stderr and "s3cret" not in bad.stderr
    assert not (tmp_path / "o").exists()
