"""The rendered objects (the app's Deployment and Service, companions, claims, PDB) validate
strictly against the oldest and newest Kubernetes versions claimed (kubernetes-validate ships
the schemas: offline)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import GOLDEN

from jenkins_bridge.render.kubernetes import NEWEST_VERSION, OLDEST_VERSION

MANIFESTS = sorted(GOLDEN.glob("*/expected/*/*/kubernetes/*.yaml"))


def test_there_are_manifests_to_validate() -> None:
    assert len(MANIFESTS) >= 2


@pytest.mark.parametrize("version", [OLDEST_VERSION, NEWEST_VERSION])
def test_manifests_validate_strictly(version: str) -> None:
    tool = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    if tool is None:
        pytest.fail("kubernetes-validate is missing: pip install -e '.[dev]'")
    done = subprocess.run(
        [tool, "--strict", "--no-warn", "-k", version, *map(str, MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    documents = sum(len([d for d in yaml.safe_load_all(p.read_text()) if d]) for p in MANIFESTS)
    assert done.stdout.count("passed") == documents, done.stdout
