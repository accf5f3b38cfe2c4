"""What provisioning posts is locked: the config XML of every item of every golden case, with
its ownership line, byte for byte (as sha256 in ``posted_configs.json``).

The renderer writes the ownership line itself (``render_owned_*``); this proves the configs
posted to Jenkins did not change when it took that over from provisioning.
``UPDATE_GOLDEN=1`` rewrites the lock from the current code (review why it changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import GOLDEN

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.provision.state import Owner, build_desired
from jenkins_bridge.render.job_config import SharedLibrary

LOCK = Path(__file__).with_name("posted_configs.json")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASES = sorted(p for p in GOLDEN.iterdir() if p.is_dir() and not p.name.startswith("err-"))
OWNER = Owner("git.example.com/platform/services")
PLUGINS = {"workflow-job": "1436.v", "git": "5.7.0", "cloudbees-folder": "6.9"}
LIBRARY = SharedLibrary(repo="https://git.example.com/platform/library.git")


def _posted(case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    repo = tmp_path / "repo"
    shutil.copytree(case, repo / case.name, ignore=shutil.ignore_patterns("expected*"))
    (repo / ".git").mkdir()
    monkeypatch.chdir(repo / case.name)
    desired = build_desired(load_services(["."]), PLUGINS, OWNER, LIBRARY)
    return {
        name: hashlib.sha256(item.config_xml.encode("utf-8")).hexdigest()
        for name, item in sorted(desired.items.items())
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_posted_configs_are_unchanged(
    case: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    actual = _posted(case, tmp_path, monkeypatch)
    lock: dict[str, dict[str, str]] = (
        json.loads(LOCK.read_text(encoding="utf-8")) if LOCK.exists() else {}
    )
    if UPDATE:
        lock[case.name] = actual
        LOCK.write_text(json.dumps(lock, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert lock.get(case.name) == actual, f"posted configs of {case.name} changed"


def test_description_is_kept_and_the_ownership_line_ends_it(tmp_path: Path) -> None:
    """Escaped text, a trailing newline and lines that carry the marker text: the posted
    description is the rendered one without marker lines, then one ownership line."""
    (tmp_path / "team-a").mkdir()
    (tmp_path / "team-a" / "api.yaml").write_text(
        "apiVersion: jenkins-bridge/v1\n"
        "kind: Service\n"
        "metadata: {name: api, team: team-a, owners: [a@x.org],"
        ' description: "Tom & <Jerry>\\nsee [managed by jenkins-bridge] here\\n\\n"}\n'
        "source: {repo: 'https://git.example.com/team-a/api.git', branch: main}\n",
        encoding="utf-8",
    )
    desired = build_desired(load_services([str(tmp_path)]), {}, OWNER)
    job, folder = desired.items["team-a/api"], desired.items["team-a"]
    assert (
        "<description>Tom &amp; &lt;Jerry&gt;\n\n\nOwners: a@x.org\n"
        f"[managed by jenkins-bridge] sha256={job.sha256} item=team-a/api"
        f" repo={OWNER.repository} source=team-a/api.yaml</description>"
    ) in job.config_xml
    assert (
        "<description>Jobs of team team-a.\n"
        f"[managed by jenkins-bridge] sha256={folder.sha256} item=team-a"
        f" repo={OWNER.repository} source=team:team-a</description>"
    ) in folder.config_xml
