"""Operating a Docker-host environment day to day, on the real engine: a dry run that changes
nothing, a foreign repository said, history lines short with the image's OCI labels,
``rollback --to N``, ``exec`` exit codes and stdin, a companion's logs/exec/restart, the lock
shown and released, ``remove`` refusing while locked and keeping volumes and history unless
asked, and a health failure that names the address it probed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.deploy.lock import target_lock
from jenkins_bridge.deploy.platform import CommandOptions, DeployOptions, platform_for
from jenkins_bridge.descriptor import load_service

from .conftest import PROXY_IMAGE, SERVICE_LABEL, TEAM, AppImages, Environment

pytestmark = [pytest.mark.docker, pytest.mark.deploy]

COMMIT = "0123456789abcdef0123456789abcdef01234567"
BUILD_URL = "https://ci.example.com/job/jbt/job/app/job/main/42/"


def _args(env: Environment, *args: str) -> list[str]:
    return [args[0], str(env.descriptor), "--env", "test", *args[1:]]


def _owned(docker_client: Any, env: Environment) -> dict[str, list[str]]:
    """Names of what the engine holds for the environment, by kind (and role for containers)."""
    selector = {"label": f"{SERVICE_LABEL}={TEAM}/{env.name}"}
    containers: dict[str, list[str]] = {}
    for c in docker_client.containers.list(all=True, filters=selector):
        containers.setdefault(c.labels.get("dev.jenkins-bridge.role", "?"), []).append(c.name)
    return {
        **containers,
        "network": [n.name for n in docker_client.networks.list(filters=selector)],
        "volume": sorted(v.name for v in docker_client.volumes.list(filters=selector)),
    }


@pytest.fixture
def labelled_v1(docker_client: Any, app_images: AppImages, tmp_path: Path) -> Any:
    """v1 with the OCI labels `image build` stamps (revision, build URL)."""
    context = tmp_path / "labelled"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {app_images.v1}\nLABEL org.opencontainers.image.revision={COMMIT} "
        f"io.jenkins.build-url={BUILD_URL}\n"
    )
    reference = app_images.v1.rsplit(":", 1)[0] + ":v1-labelled"
    docker_client.images.build(path=str(context), tag=reference, network_mode="host", rm=True)
    yield reference
    docker_client.images.remove(reference, force=True)


def test_operating_a_docker_host_environment(
    environment: Environment, app_images: AppImages, labelled_v1: str, docker_client: Any
) -> None:
    env = environment
    # A dry run before anything exists: it says what a deploy would create, and creates
    # nothing. The image is from another repository than image.repository: said, not refused.
    code, out, err = env.json(*_args(env, "deploy", "--image", labelled_v1, "--dry-run"))
    assert code == 0, err
    assert out["status"] == "dry-run"
    changes = "\n".join(out["data"]["changes"])
    assert "create network" in changes and "start proxy" in changes
    assert "start companion store" in changes
    assert out["data"]["live"] is None
    assert _owned(docker_client, env) == {"network": [], "volume": []}
    [warning] = out["data"]["warnings"]
    assert labelled_v1 in warning and f"127.0.0.1:5000/{TEAM}/{env.name}" in warning

    code, out, err = env.json(*_args(env, "deploy", "--image", labelled_v1))
    assert code == 0, err
    assert f"warning: {labelled_v1} is not from this service's repository" in err
    v1 = out["data"]["record"]["digest"]
    code, out, err = env.json(*_args(env, "deploy", "--image", app_images.v2))
    assert code == 0, err
    v2 = out["data"]["record"]["digest"]

    # A dry run with a version live: the switch and the stop of the old one, nothing done.
    before = _owned(docker_client, env)
    code, out, err = env.json(*_args(env, "deploy", "--image", labelled_v1, "--dry-run"))
    assert code == 0, err
    assert out["data"]["live"] == v2
    assert any("stop" in change and "drain" in change for change in out["data"]["changes"])
    assert any("companion store" in kept for kept in out["data"]["unchanged"])
    assert _owned(docker_client, env) == before

    # History: one short aligned line per deploy; build and commit from the image's labels.
    done = env.cli(*_args(env, "history"))
    assert done.returncode == 0, done.stderr
    header, first, second = done.stdout.splitlines()
    assert header.startswith("#")
    assert max(len(line) for line in (first, second)) < 150, done.stdout
    assert not re.search(r"[0-9a-f]{64}", done.stdout), done.stdout
    assert "main#42" in first and COMMIT[:12] in first
    assert first.index("live") == second.index("live")  # aligned columns
    code, out, err = env.json(*_args(env, "history"))
    assert out["data"]["images"][v1]["revision"] == COMMIT

    # rollback --to takes a history number.
    code, out, err = env.json(*_args(env, "rollback", "--to", "1"))
    assert code == 0, err
    assert out["data"]["record"]["digest"] == v1
    code, out, err = env.json(*_args(env, "rollback", "--to", "#9"))
    assert code == 1
    assert "no record #9" in out["errors"][0]["message"]

    # exec passes the command's exit code through and, with -i, its stdin.
    done = env.cli(*_args(env, "exec", "--", "sh", "-c", "echo out; exit 7"))
    assert done.returncode == 7, done.stderr
    assert done.stdout.strip() == "out"
    done = subprocess_input(
        env, _args(env, "exec", "-i", "--", "sh", "-c", "tr a-z A-Z"), b"piped\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == b"PIPED"

    # A companion: read, exec into, restart; its data stays.
    done = env.cli(
        *_args(env, "exec", "--companion", "store", "--", "sh", "-c", "echo kept > /data/k")
    )
    assert done.returncode == 0, done.stderr
    [store] = _owned(docker_client, env)["companion"]
    started = docker_client.containers.get(store).attrs["State"]["StartedAt"]
    done = env.cli(*_args(env, "restart", "--companion", "store"))
    assert done.returncode == 0, done.stderr
    assert "healthy" in done.stdout
    assert docker_client.containers.get(store).attrs["State"]["StartedAt"] != started
    done = env.cli(*_args(env, "exec", "--companion", "store", "--", "cat", "/data/k"))
    assert (done.returncode, done.stdout.strip()) == (0, "kept"), done.stderr
    done = env.cli(*_args(env, "logs", "--companion", "store"))
    assert done.returncode == 0, done.stderr
    done = env.cli(*_args(env, "logs", "--companion", "nope"))
    assert done.returncode == 1 and "companions: store" in done.stderr

    # The lock: shown with its holder; remove refuses while it is held; release names it.
    code, out, _ = env.json("lock", "show", str(env.descriptor), "--env", "test")
    assert (code, out["status"], out["data"]["held"]) == (0, "free", False)
    target = platform_for(load_service(env.descriptor), "test", CommandOptions()).target
    holder = {"BUILD_URL": "https://ci.example.com/job/other/7/"}
    with (
        DockerRuntime.connect() as runtime,
        target_lock(runtime, target, DeployOptions(lock_wait=0), holder, print, image=PROXY_IMAGE),
    ):
        code, out, _ = env.json("lock", "show", str(env.descriptor), "--env", "test")
        assert out["data"]["holder"]["holder"] == holder["BUILD_URL"]
        before = _owned(docker_client, env)
        done = env.cli(*_args(env, "remove"))
        assert done.returncode == 1
        assert "job/other/7" in done.stderr
        assert _owned(docker_client, env) == before
        code, out, _ = env.json("lock", "release", str(env.descriptor), "--env", "test")
        assert (code, out["status"]) == (0, "released")
        assert out["data"]["holder"]["holder"] == holder["BUILD_URL"]

    # remove: containers and network go; the companion's volume and the history stay.
    code, out, err = env.json(*_args(env, "remove"))
    assert code == 0, err
    left = _owned(docker_client, env)
    assert set(left) == {"state", "network", "volume"}, left
    assert left["network"] == []
    assert any(v.endswith("store-data") for v in left["volume"])
    code, out, err = env.json(*_args(env, "history"))
    assert [r["seq"] for r in out["data"]["records"]] == [1, 2, 3]
    code, out, err = env.json(*_args(env, "remove", "--volumes", "--history"))
    assert code == 0, err
    assert _owned(docker_client, env) == {"network": [], "volume": []}


def subprocess_input(env: Environment, args: list[str], data: bytes) -> Any:
    import subprocess

    from .conftest import CLI

    return subprocess.run(
        [str(CLI), *args], input=data, capture_output=True, timeout=120, env=env.env
    )


def test_a_wrong_port_names_the_address_probed(
    environment: Environment, app_images: AppImages
) -> None:
    env = environment
    # The app listens on 8081 (its PORT), the descriptor says 8080: Docker's own healthcheck
    # (on $PORT) passes, the gate's probe does not, and the failure says where it asked.
    text = env.descriptor.read_text().replace("GREETING: hello}", "GREETING: hello, PORT: '8081'}")
    env.descriptor.write_text(text)
    code, out, err = env.json(*_args(env, "deploy", "--image", app_images.v1, "--timeout", "3"))
    assert code == 3, err
    detail = out["data"]["record"]["detail"]
    assert re.search(r"probed http://198\.1[89]\.\d+\.\d+:8080/healthz", detail), detail
