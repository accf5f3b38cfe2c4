"""The deploy's pure decisions: proxy text, health verdicts, records, locks, targets, the
container argument mapping. No engine needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.containers.runtime import ContainerSpec, HealthSpec, container_create_args
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.errors import (
    DeployError,
    NoSubnet,
    NoSuchEnvironment,
    NotDockerTarget,
    SecretUnbound,
)
from jenkins_bridge.deploy.proxy import render_proxy_config, upstream_address, upstream_of
from jenkins_bridge.deploy.records import (
    LockRecord,
    history_from_bytes,
    history_to_bytes,
    lock_is_stale,
    rollback_candidate,
)
from jenkins_bridge.deploy.target import bound_secrets, check_subnet, resolve_target
from jenkins_bridge.descriptor import load_service
from jenkins_bridge.descriptor.naming import ObjectNames
from tests.deploy.samples import deploy_record


def test_proxy_config_points_at_one_upstream_and_reads_back() -> None:
    text = render_proxy_config("198.18.7.2:8080")
    assert "proxy_pass http://198.18.7.2:8080;" in text
    assert upstream_of(text) == "198.18.7.2:8080"
    assert upstream_of(render_proxy_config(None)) is None
    assert "return 503" in render_proxy_config(None)


def test_upstream_address_accepts_only_an_ip() -> None:
    assert upstream_address("198.18.7.2", 80) == "198.18.7.2:80"
    with pytest.raises(DeployError):
        upstream_address("app; return 200", 80)


def _seen(**changes: object) -> health.Observation:
    values: dict[str, object] = {
        "status": "running",
        "docker_health": "healthy",
        "http_status": 200,
        "restart_count": 0,
        "elapsed": 1.0,
        "timeout": 10.0,
    }
    values.update(changes)
    return health.Observation(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "state"),
    [
        ({}, health.HEALTHY),
        ({"docker_health": None}, health.HEALTHY),
        ({"docker_health": "starting"}, health.PENDING),
        ({"http_status": 404}, health.PENDING),
        ({"http_status": None, "elapsed": 10.0}, health.FAILED),
        ({"docker_health": "unhealthy"}, health.FAILED),
        ({"status": "exited"}, health.FAILED),
        ({"restart_count": 1}, health.FAILED),
    ],
)
def test_health_gate_verdicts(changes: dict[str, object], state: str) -> None:
    assert health.judge(_seen(**changes)).state == state


def test_status_line_parsing() -> None:
    assert health.parse_status_line("HTTP/1.0 200 OK\r\n\r\nok") == 200
    assert health.parse_status_line("") is None
    assert health.parse_status_line("garbage") is None


def test_history_round_trips_and_rollback_picks_the_previous_live_version() -> None:
    records = [deploy_record(1, "a"), deploy_record(2, "b"), deploy_record(3, "c", "rolled-back")]
    assert history_from_bytes(history_to_bytes(records)) == records
    assert history_from_bytes(b"not json") == []
    assert rollback_candidate(records, current="b") == records[0]
    assert rollback_candidate([deploy_record(1, "a")], current="a") is None


def test_lock_staleness() -> None:
    lock = LockRecord(holder="job/1", host="agent", pid=42, since="t", since_epoch=1000.0)
    assert lock_is_stale(lock, here="agent", pid_alive=False, now_epoch=1001, max_age=60)
    assert not lock_is_stale(lock, here="agent", pid_alive=True, now_epoch=1001, max_age=60)
    assert not lock_is_stale(lock, here="other", pid_alive=False, now_epoch=1001, max_age=60)
    assert lock_is_stale(lock, here="other", pid_alive=True, now_epoch=2000, max_age=60)
    assert LockRecord.parse_label(lock.to_label()) == lock
    assert "job/1" in lock.describe()


@pytest.mark.parametrize("subnet", ["10.1.0.0/24", "172.17.0.0/16", "192.168.1.0/24"])
def test_refused_subnets_are_refused(subnet: str) -> None:
    with pytest.raises(NoSubnet):
        check_subnet(subnet, "svc.yaml", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def test_benchmark_subnet_is_accepted() -> None:
    assert check_subnet("198.18.7.0/24", "svc.yaml") == "198.18.7.0/24"


DESCRIPTOR = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: app, team: t}
source: {repo: https://git.example.com/t/app.git}
image: {repository: 127.0.0.1:5000/t/app}
runtime:
  secrets: [{env: APP_TOKEN, credentialsId: app-token}]
deploy:
  - {environment: test, target: docker, listen: "127.0.0.1:18000", subnet: 198.18.9.0/24}
  - {environment: prod, target: swarm, listen: "0.0.0.0:18001"}
"""


def _service(tmp_path: Path) -> object:
    path = tmp_path / "app.yaml"
    path.write_text(DESCRIPTOR)
    return load_service(path)


def test_target_resolution(tmp_path: Path) -> None:
    service = _service(tmp_path)
    target = resolve_target(service, "test", timeout=5)  # type: ignore[arg-type]
    assert target.names.proxy == ObjectNames.of("t", "app", "test").proxy
    assert target.names.proxy.startswith("jb-t-app-test-")
    assert target.subnet == "198.18.9.0/24"
    assert str(target.listen) == "127.0.0.1:18000"
    assert target.health_timeout == 5
    assert target.proxy_image.startswith("docker.io/library/nginx:")
    with pytest.raises(NotDockerTarget):
        resolve_target(service, "prod")  # type: ignore[arg-type]
    with pytest.raises(NoSuchEnvironment):
        resolve_target(service, "nope")  # type: ignore[arg-type]


def test_secrets_come_from_the_environment_only(tmp_path: Path) -> None:
    service = _service(tmp_path)
    secrets = service.runtime.secrets  # type: ignore[attr-defined]
    assert bound_secrets(secrets, {"APP_TOKEN": "s3cret"}, "app") == {"APP_TOKEN": "s3cret"}
    with pytest.raises(SecretUnbound) as raised:
        bound_secrets(secrets, {}, "app")
    assert "withCredentials" in str(raised.value.hint)


def test_container_arguments() -> None:
    spec = ContainerSpec(
        name="n",
        image="i",
        labels={"a": "b"},
        env={"K": "V"},
        network="net",
        healthcheck=HealthSpec(("true",), 1, 2, 3, 0),
        restart="on-failure",
        cpus=0.5,
        memory="256Mi",
        read_only=True,
        tmpfs=("/tmp",),
        cap_drop=("ALL",),
        user="1000",
        volumes={"vol": "/data"},
        publish=((80, "127.0.0.1", 18000),),
    )
    args = container_create_args(spec)
    assert args["security_opt"] == ["no-new-privileges:true"]
    assert args["mem_limit"] == "256m"
    assert args["nano_cpus"] == 500_000_000
    assert args["healthcheck"]["Test"] == ["CMD", "true"]
    assert args["restart_policy"] == {"Name": "on-failure"}
    assert args["ports"] == {"80/tcp": ("127.0.0.1", 18000)}
    assert args["volumes"] == {"vol": {"bind": "/data", "mode": "rw"}}
    assert args["tmpfs"] == {"/tmp": "rw,size=64m"}
    assert args["cap_drop"] == ["ALL"]
    assert args["read_only"] is True
    assert args["network_mode"] == "net"
