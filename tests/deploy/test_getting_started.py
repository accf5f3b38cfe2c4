"""The getting-started page, executed: its marked command blocks, in order, in one shell.

The commands are read from docs/getting-started.md (each ```sh block right after a
``<!-- getting-started:run -->`` line), so the page and this test cannot drift apart. Only the
listen port, the subnet and the service name are replaced, by free ones, so runs in parallel
(and other tests on the engine) do not collide.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, _free_port, _free_subnet, remove_service

PAGE = ROOT / "docs" / "getting-started.md"
MARKER = "<!-- getting-started:run -->"
PORT, SUBNET, NAME = "18080", "198.19.80.0/24", "hello"


def marked_blocks(text: str) -> list[str]:
    return re.findall(re.escape(MARKER) + r"\n```sh\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)


def test_the_page_walks_from_init_to_alerts() -> None:
    """What the page promises is what the run below executes (fast tier: no engine needed)."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = marked_blocks(text)
    assert len(blocks) == text.count(MARKER), "every marker must precede a ```sh block"
    script = "\n".join(blocks)
    for step in (
        "jenkins-bridge init",
        "jenkins-bridge validate",
        "jenkins-bridge render",
        "jenkins-bridge image build",
        "jenkins-bridge deploy",
        "jenkins-bridge rollback",
        "jenkins-bridge status",
        "promtool test rules",
    ):
        assert step in script, step
    assert script.index("jenkins-bridge init") < script.index("jenkins-bridge deploy")
    assert script.index("jenkins-bridge deploy") < script.index("jenkins-bridge rollback")


@pytest.mark.docker
@pytest.mark.deploy
@pytest.mark.prometheus
def test_getting_started_runs_as_written(docker_client: Any, tmp_path: Path) -> None:
    name = f"{NAME}-{uuid.uuid4().hex[:6]}"
    port = str(_free_port())
    script = "\n".join(marked_blocks(PAGE.read_text(encoding="utf-8")))
    script = script.replace(PORT, port).replace(SUBNET, _free_subnet(docker_client))
    script = re.sub(rf"\b{NAME}\b", name, script)
    env = {
        k: v for k, v in os.environ.items() if k not in ("BUILD_URL", "GIT_COMMIT", "DOCKER_HOST")
    }
    env["TMPDIR"] = str(tmp_path)  # the page's `mktemp -d` lands here
    try:
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        remove_service(docker_client, f"demo/{name}")
        for image in docker_client.images.list(name=f"127.0.0.1:5000/demo/{name}"):
            docker_client.images.remove(image.id, force=True)
    output = completed.stdout
    assert completed.returncode == 0, f"{output}\n{completed.stderr}"
    served = re.findall(rf"^{name} (v\d)$", output, re.MULTILINE)
    # deploy v1, deploy v2, rollback to v1, v3 fails its health gate while v1 keeps serving
    assert served == ["v1", "v2", "v1", "v1"], output
    assert "deploy exit code 3" in output, output
    assert "ServiceErrorBudgetBurnFast" in output and "SUCCESS" in output, output
