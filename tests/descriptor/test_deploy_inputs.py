"""Deploy inputs with a valid shape but a wrong meaning are refused by validate, located:
special subnets, impossible listen addresses, non-ASCII health paths, a secret bound as a
variable the steps rely on, a companion or volume taking the deploy's own object names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

HEAD = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: app, team: t}}
source: {{repo: https://git.example.com/t/app.git}}
image: {{repository: 127.0.0.1:5000/t/app}}
runtime:
  secrets: [{{env: {secret}, credentialsId: app-token}}]
  healthcheck: {{path: "{path}"}}
  companions:
    - name: {companion}
      image: busybox
      secrets: [{{env: {companion_secret}, credentialsId: db}}]
      volume: {{name: {volume}, path: /data}}
deploy:
  - environment: test
    target: docker
    listen: "{listen}"
    subnet: {subnet}
"""
GOOD = {
    "secret": "APP_TOKEN",
    "path": "/healthz",
    "companion": "store",
    "companion_secret": "DB_PASSWORD",
    "volume": "store-data",
    "listen": "127.0.0.1:18080",
    "subnet": "198.18.9.0/24",
}


def _validate(cli: Any, tmp_path: Path, **changes: str) -> tuple[int, str]:
    path = tmp_path / "app.yaml"
    path.write_text(HEAD.format(**{**GOOD, **changes}))
    result = cli("validate", str(path))
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout + result.stderr


def test_the_good_descriptor_is_valid(cli: Any, tmp_path: Path) -> None:
    code, text = _validate(cli, tmp_path)
    assert code == 0, text


@pytest.mark.parametrize(
    "subnet",
    ["127.0.0.0/24", "169.254.3.0/24", "224.1.0.0/16", "0.0.0.0/8", "240.0.0.0/8", "0.0.0.0/0"],
)
def test_special_subnets_are_refused(cli: Any, tmp_path: Path, subnet: str) -> None:
    code, text = _validate(cli, tmp_path, subnet=subnet)
    assert code == 1
    assert "app.yaml:18:" in text and "deploy[0].subnet" in text and "special range" in text


@pytest.mark.parametrize(
    ("listen", "why"),
    [
        ("999.1.1.1:18080", "not an IP address"),
        ("127.0.0.1:0", "port 0 is not between"),
        ("127.0.0.1:99999", "port 99999 is not between"),
        ("[127.0.0.1]:80", "brackets"),
    ],
)
def test_impossible_listen_addresses_are_refused(
    cli: Any, tmp_path: Path, listen: str, why: str
) -> None:
    code, text = _validate(cli, tmp_path, listen=listen)
    assert code == 1
    assert "app.yaml:17:" in text and "deploy[0].listen" in text and why in text


def test_a_non_ascii_health_path_is_refused(cli: Any, tmp_path: Path) -> None:
    code, text = _validate(cli, tmp_path, path="/gesundheitsprüfung")
    assert code == 1
    assert "app.yaml:8:" in text and "runtime.healthcheck.path" in text and "ASCII" in text


@pytest.mark.parametrize("name", ["PATH", "BRIDGE_CLI", "BRIDGE_RESULT", "HOME", "DOCKER_HOST"])
def test_a_secret_may_not_take_a_variable_the_steps_rely_on(
    cli: Any, tmp_path: Path, name: str
) -> None:
    code, text = _validate(cli, tmp_path, secret=name)
    assert code == 1
    assert "app.yaml:7:" in text and "runtime.secrets[0].env" in text and name in text
    code, text = _validate(cli, tmp_path, companion_secret=name)
    assert code == 1 and "runtime.companions[0].secrets[0].env" in text


@pytest.mark.parametrize("name", ["proxy", "state", "lock", "app-1"])
def test_companions_and_volumes_may_not_take_the_deploys_own_names(
    cli: Any, tmp_path: Path, name: str
) -> None:
    code, text = _validate(cli, tmp_path, companion=name)
    assert code == 1 and "runtime.companions[0].name" in text and "its own objects" in text
    code, text = _validate(cli, tmp_path, volume=name)
    assert code == 1 and "runtime.companions[0].volume.name" in text


TWO_COMPANIONS = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {{name: app, team: t}}
source: {{repo: https://git.example.com/t/app.git}}
image: {{repository: 127.0.0.1:5000/t/app}}
runtime:
  companions:
    - name: db
      image: busybox
    - name: {other}
      image: busybox
deploy:
  - environment: test
    target: docker
    listen: "127.0.0.1:18080"
"""


@pytest.mark.parametrize("suffix", ["-previous", "-failed"])
def test_a_companion_may_not_be_named_like_anothers_set_aside_container(
    cli: Any, tmp_path: Path, suffix: str
) -> None:
    """A change of companion ``db`` renames its container ``<base>-db-previous`` (and a failed
    new one ``<base>-db-failed``): a companion named ``db-previous`` would be that container."""
    path = tmp_path / "app.yaml"
    path.write_text(TWO_COMPANIONS.format(other=f"db{suffix}"))
    result = cli("validate", str(path))
    text = result.stdout + result.stderr
    assert result.exit_code == 1 and "Traceback" not in text
    assert "app.yaml:10:" in text and "runtime.companions[1].name" in text
    assert f"'db{suffix}' ends in '{suffix}', reserved for companion 'db''s container" in text
    path.write_text(TWO_COMPANIONS.format(other=f"cache{suffix}"))  # reserved even alone
    assert cli("validate", str(path)).exit_code == 1
    path.write_text(TWO_COMPANIONS.format(other="db-previously"))
    assert cli("validate", str(path)).exit_code == 0
