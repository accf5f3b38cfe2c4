"""compose.yaml: what Debian's docker-compose reads back from it is the descriptor's data (no
interpolation, secrets as references only), and every golden compose file passes
``docker-compose config``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GOLDEN

from jenkins_bridge.descriptor import load_service
from jenkins_bridge.render.compose import render_compose

HOSTILE = "a $HOME ${PATH} $$ \"q\" 'x' #c: {b} [l] \\\\ end"

DESCRIPTOR = f"""\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: api, team: shop}}
source: {{repo: https://git.example.com/shop/api.git}}
image: {{repository: 127.0.0.1:5000/shop/api}}
runtime:
  port: 18077
  composeSubnet: 198.18.77.0/24
  env: {{GREETING: {yaml.safe_dump(HOSTILE).strip()}}}
  secrets: [{{env: APP_TOKEN, credentialsId: app-token}}]
  companions:
    - name: store
      image: jenkins-bridge-test/busybox:latest
      command: [httpd, -f, -p, "8080", -h, /data]
      volume: {{name: store-data, path: /data}}
      healthcheck: {{command: [sh, -c, "echo | nc -w 2 127.0.0.1 8080"], intervalSeconds: 1,
                    retries: 3, startPeriodSeconds: 0}}
"""


def _compose_bin() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail("docker-compose is missing: scripts/services.sh up installs it")
    return found


def _config(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [_compose_bin(), "-f", "compose.yaml", "config"],
        cwd=folder,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = yaml.safe_load(done.stdout)
    return data


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    (tmp_path / "svc.yaml").write_text(DESCRIPTOR)
    (tmp_path / "compose.yaml").write_text(render_compose(load_service(tmp_path / "svc.yaml")))
    return tmp_path


def test_values_are_data_and_secrets_references(rendered: Path) -> None:
    text = (rendered / "compose.yaml").read_text()
    assert "s3cret" not in text
    config = _config(rendered, {"APP_TOKEN": "s3cret", "IMAGE": "x/app:v1"})
    app = config["services"]["app"]
    # config prints a compose file again, so a literal $ comes back doubled, not expanded
    assert app["environment"]["GREETING"] == HOSTILE.replace("$", "$$")
    assert app["environment"]["APP_TOKEN"] == "s3cret"
    assert app["image"] == "x/app:v1"
    assert app["depends_on"]["store"]["condition"] == "service_healthy"
    assert str(config["services"]["store"]["volumes"][0]).startswith("store-data:/data")
    assert config["networks"]["service"]["ipam"]["config"] == [{"subnet": "198.18.77.0/24"}]


def test_a_missing_secret_stops_compose_with_its_name(rendered: Path) -> None:
    done = subprocess.run(
        [_compose_bin(), "-f", "compose.yaml", "config"],
        cwd=rendered,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode != 0
    assert "bind APP_TOKEN (credentials app-token)" in done.stderr


@pytest.mark.parametrize(
    "path", sorted(GOLDEN.glob("*/expected/*/*/compose.yaml")), ids=lambda p: p.parts[-5]
)
def test_golden_compose_files_pass_docker_compose_config(path: Path) -> None:
    text = path.read_text()
    names = {word.split(":")[0].strip('"${') for word in text.split() if "${" in word}
    _config(path.parent, {name: "value" for name in names if name != "IMAGE"})
