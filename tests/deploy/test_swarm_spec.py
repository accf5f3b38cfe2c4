"""The swarm target without an engine: the service spec it sends, the ports it probes, and bad
input that stops before anything changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.containers.runtime import HealthSpec
from jenkins_bridge.containers.swarm import ServiceSpec, SwarmServices, service_spec
from jenkins_bridge.deploy.errors import SecretUnbound
from jenkins_bridge.deploy.options import PLAIN_DEPLOY
from jenkins_bridge.deploy.swarm.session import NotSwarmManager, SwarmSession
from jenkins_bridge.deploy.swarm.target import memory_bytes, resolve_swarm_target, task_ports
from jenkins_bridge.descriptor import load_service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.errors import InvalidDescriptors

from .samples import SERVICE_HEAD

NANO = 1_000_000_000

DESCRIPTOR = (
    SERVICE_HEAD.format(name="api", team="shop").replace("{", "{{").replace("}", "}}")
    + """\
runtime:
  port: 8080
  secrets: [{{env: APP_TOKEN, credentialsId: app-token}}]
deploy:
  - environment: prod
    target: swarm
    runtime: {{env: {{PORT: "{port}"}}}}
{stage}"""
)


def _service(tmp_path: Path, stage: str, port: str = "8080") -> Any:
    path = tmp_path / "svc.yaml"
    path.write_text(DESCRIPTOR.format(stage=stage, port=port))
    return load_service(path)


def _spec(**changes: Any) -> ServiceSpec:
    values: dict[str, Any] = {
        "name": "jb-shop-api-prod",
        "image": "127.0.0.1:5000/shop/api@sha256:" + "a" * 64,
        "labels": {"dev.jenkins-bridge.service": "shop/api"},
        "container_labels": {"dev.jenkins-bridge.role": "app"},
        "env": {"PORT": "8080", "APP_TOKEN_FILE": "/run/secrets/APP_TOKEN"},
        "replicas": 3,
        "network": "jb-shop-api-prod",
        "publish": ((8080, 18080),),
        "healthcheck": HealthSpec((), 5, 2, 3, 10),
        "update_order": "start-first",
        "monitor_seconds": 5,
        "stop_timeout_seconds": 10,
        "secrets": (("id1", "jb-shop-api-prod-app-token-0123", "APP_TOKEN"),),
    }
    return ServiceSpec(**{**values, **changes})


def test_the_default_spec_is_an_overlay_service_with_a_published_port() -> None:
    body = service_spec(_spec())
    assert body["TaskTemplate"]["Networks"] == [{"Target": "jb-shop-api-prod"}]
    assert body["EndpointSpec"]["Ports"] == [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 18080}
    ]
    assert body["Mode"] == {"Replicated": {"Replicas": 3}}
    assert body["UpdateConfig"] == {
        "Parallelism": 1,
        "Delay": 0,
        "FailureAction": "rollback",
        "Monitor": 5 * NANO,
        "MaxFailureRatio": 0.0,
        "Order": "start-first",
    }
    assert body["RollbackConfig"]["FailureAction"] == "pause"
    health = body["TaskTemplate"]["ContainerSpec"]["Healthcheck"]
    assert "Test" not in health  # the image's HEALTHCHECK command, the descriptor's timing
    assert health["Interval"] == 5 * NANO


def test_secrets_reach_the_task_as_files_never_as_values() -> None:
    container = service_spec(_spec())["TaskTemplate"]["ContainerSpec"]
    assert container["Secrets"][0]["File"]["Name"] == "APP_TOKEN"
    assert container["Secrets"][0]["SecretID"] == "id1"
    assert container["Env"] == ["APP_TOKEN_FILE=/run/secrets/APP_TOKEN", "PORT=8080"]


def test_host_networking_publishes_nothing() -> None:
    body = service_spec(_spec(network="host", publish=(), update_order="stop-first"))
    assert body["TaskTemplate"]["Networks"] == [{"Target": "host"}]
    assert "EndpointSpec" not in body


def test_templated_ports_give_one_port_per_slot(tmp_path: Path) -> None:
    service = _service(tmp_path, "    network: host\n    replicas: 3\n", "1808{{.Task.Slot}}")
    assert task_ports(resolve_swarm_target(service, "prod")) == [18081, 18082, 18083]


def test_an_overlay_service_is_probed_on_its_listen_port(tmp_path: Path) -> None:
    service = _service(tmp_path, '    listen: "0.0.0.0:18090"\n    replicas: 2\n')
    assert task_ports(resolve_swarm_target(service, "prod")) == [18090]


def test_host_networking_with_start_first_is_refused(tmp_path: Path) -> None:
    # validate says it first, at the line to change (deploy would refuse it too)
    with pytest.raises(InvalidDescriptors) as raised:
        _service(tmp_path, "    network: host\n    updateOrder: start-first\n")
    assert [str(p) for p in raised.value.problems()] == [
        f"{tmp_path / 'svc.yaml'}:14:18: deploy[0].updateOrder: network host needs "
        "updateOrder stop-first: two tasks cannot bind one port"
    ]


def test_zero_replicas_is_a_located_descriptor_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidDescriptors) as raised:
        _service(tmp_path, "    replicas: 0\n")
    assert [str(p) for p in raised.value.problems()] == [
        f"{tmp_path / 'svc.yaml'}:13:15: deploy[0].replicas: must be at least 1; got integer 0"
    ]


def test_memory_limits_are_binary_bytes() -> None:
    assert memory_bytes("256Mi") == 256 * 1024**2
    assert memory_bytes("1G") == 1024**3
    assert memory_bytes(None) is None


class _NotAManager:
    """An engine that answers but is not in a swarm; any change would be a failure."""

    docker_host = "unix:///var/run/docker.sock"

    class api:
        @staticmethod
        def info() -> dict[str, Any]:
            return {"Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False}}

    def errors(self, action: str) -> Any:
        import contextlib

        return contextlib.nullcontext()


def test_an_engine_that_is_not_a_manager_is_named_with_the_next_step(tmp_path: Path) -> None:
    target = resolve_swarm_target(_service(tmp_path, "    network: host\n"), "prod")
    with pytest.raises(NotSwarmManager) as raised:  # the session's first question
        SwarmSession(target, _NotAManager(), {}, lambda _: None)  # type: ignore[arg-type]
    assert "not a swarm manager (swarm state: inactive)" in raised.value.message
    assert raised.value.hint is not None and "services.sh up" in raised.value.hint
    assert isinstance(SwarmServices(_NotAManager()).is_manager(), tuple)  # type: ignore[arg-type]


def test_a_secret_without_a_value_stops_before_any_engine_call(tmp_path: Path) -> None:
    from jenkins_bridge.deploy.swarm.platform import SwarmPlatform

    target = resolve_swarm_target(_service(tmp_path, "    network: host\n"), "prod")
    with pytest.raises(SecretUnbound, match="APP_TOKEN"):
        SwarmPlatform(target).deploy("img", {}, lambda _: None, PLAIN_DEPLOY)


COMPANION = """\
  companions:
    - name: store
      image: 127.0.0.1:5000/shop/store:1
      command: [httpd, -f, -p, "8090"]
      env: {MODE: cache}
      secrets: [{env: STORE_KEY, credentialsId: store-key}]
      volume: {name: store-data, path: /data}
"""


def test_a_companion_is_its_own_service_on_the_service_network(tmp_path: Path) -> None:
    path = tmp_path / "svc.yaml"
    text = DESCRIPTOR.format(stage="    listen: 0.0.0.0:18080\n", port="8080")
    text = text.replace("deploy:\n", COMPANION + "deploy:\n")
    path.write_text(text)
    target = resolve_swarm_target(load_service(path), "prod")
    session = SwarmSession(target, _Secrets(), {"STORE_KEY": "s3cr3t-value"}, lambda _: None)  # type: ignore[arg-type]
    [companion] = target.service.runtime.companions
    spec = session.companion_spec(companion, "store@sha256:" + "b" * 64)
    body = service_spec(spec)
    container = body["TaskTemplate"]["ContainerSpec"]
    names = ObjectNames.of("shop", "api", "prod")
    assert body["Name"] == names.companion("store")
    assert container["Args"] == ["httpd", "-f", "-p", "8090"]
    assert container["Mounts"] == [
        {"Type": "volume", "Source": names.volume("store-data"), "Target": "/data"}
    ]
    assert container["Env"] == ["MODE=cache", "STORE_KEY_FILE=/run/secrets/STORE_KEY"]
    assert "s3cr3t-value" not in str(body)  # the value only went to the secret
    assert body["TaskTemplate"]["Networks"] == [{"Target": names.network, "Aliases": ["store"]}]
    assert body["Mode"] == {"Replicated": {"Replicas": 1}}
    assert body["UpdateConfig"]["Order"] == "stop-first"


class _Secrets:
    """A manager's secrets API: ours (labelled), one other, and what services refer to."""

    docker_host = "unix:///var/run/docker.sock"

    def __init__(self) -> None:
        self.removed: list[str] = []
        self.api = self

    def errors(self, action: str) -> Any:
        import contextlib

        return contextlib.nullcontext()

    def inspect_secret(self, name: str) -> dict[str, str]:
        return {"ID": f"id-{name}"}

    def info(self) -> dict[str, Any]:
        return {"Swarm": {"LocalNodeState": "active", "ControlAvailable": True}}

    def containers(self, labels: dict[str, str]) -> list[Any]:
        return []  # no state container under an earlier release's names

    def inspect(self, name: str) -> Any:
        return object()  # the state container

    def get_file(self, name: str, path: str) -> bytes:
        assert path.endswith("/secret-salt")
        return b"5a1" * 22

    def secrets(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        assert "dev.jenkins-bridge.role=secret" in filters["label"]
        base = ObjectNames.of("shop", "api", "prod").base
        return [{"ID": i, "Spec": {"Name": f"{base}-app-token-{i}"}} for i in "abc"]

    def services(self) -> list[dict[str, Any]]:
        def using(secret_id: str) -> dict[str, Any]:
            return {"TaskTemplate": {"ContainerSpec": {"Secrets": [{"SecretID": secret_id}]}}}

        return [{"Spec": using("c"), "PreviousSpec": using("b")}, {"Spec": using("other")}]

    def remove_secret(self, secret_id: str) -> None:
        self.removed.append(secret_id)


def test_only_our_secrets_no_service_refers_to_are_removed(tmp_path: Path) -> None:
    target = resolve_swarm_target(_service(tmp_path, "    network: host\n"), "prod")
    engine = _Secrets()
    SwarmSession(target, engine, {}, lambda _: None).prune_secrets()  # type: ignore[arg-type]
    assert engine.removed == ["a"]  # b is the rollback's, c the current spec's


class _OtherSalt(_Secrets):
    def get_file(self, name: str, path: str) -> bytes:
        return b"be7" * 22


def test_a_secret_name_carries_no_plain_hash_of_its_value(tmp_path: Path) -> None:
    import hashlib

    target = resolve_swarm_target(_service(tmp_path, "    network: host\n"), "prod")
    value = "hunter2-distinctive-value"
    names = []
    for engine in (_Secrets(), _Secrets(), _OtherSalt()):
        session = SwarmSession(target, engine, {}, lambda _: None)  # type: ignore[arg-type]
        [(_, name, env)] = session.secrets({"APP_TOKEN": value})
        assert env == "APP_TOKEN" and "hunter2" not in name
        assert hashlib.sha256(value.encode()).hexdigest()[:12] not in name
        names.append(name)
    assert names[0] == names[1]  # the same value, the same salt: the same secret
    assert names[0] != names[2]  # another environment's salt: another name


def test_proxy_image_means_the_proxy_and_swarm_runs_none(tmp_path: Path) -> None:
    from jenkins_bridge.deploy.options import CommandOptions
    from jenkins_bridge.deploy.platform import Unsupported
    from jenkins_bridge.deploy.targets import platform_for

    service = _service(
        tmp_path, "    network: host\n    helperImage: 127.0.0.1:5000/tools/busybox:1\n"
    )
    with pytest.raises(Unsupported, match="runs no proxy"):
        platform_for(service, "prod", CommandOptions(proxy_image="nginx:1"))
    target = resolve_swarm_target(service, "prod")
    assert target.helper_image == "127.0.0.1:5000/tools/busybox:1"  # the lock's and the state's
