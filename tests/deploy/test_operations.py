"""Operating a Docker-host environment day to day, on the real engine: a dry run that changes
nothing, a foreign repository said, history lines short with the image's OCI labels,
``rollback --to N``, ``exec`` exit codes and stdin, a companion's logs/exec/restart, the lock
shown and released, ``remove`` refusing while locked and keeping volumes and history unless
asked, and a health failure that names the address it probed."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.deploy.lock import target_lock
from jenkins_bridge.deploy.options import CommandOptions, DeployOptions
from jenkins_bridge.deploy.targets import platform_for
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


def _deploy(env: Environment, image: str) -> str:
    code, out, err = env.json(*_args(env, "deploy", "--image", image))
    assert code == 0, err
    digest: str = out["data"]["record"]["digest"]
    return digest


def test_a_dry_run_says_what_would_change_and_changes_nothing(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    # Before anything exists: what a deploy would create, and nothing created. The image is
    # from another repository than image.repository: said, not refused.
    code, out, err = env.json(*_args(env, "deploy", "--image", app_images.v1, "--dry-run"))
    assert code == 0, err
    assert out["status"] == "dry-run"
    changes = "\n".join(out["data"]["changes"])
    assert "create network" in changes and "start proxy" in changes
    assert "start companion store" in changes
    assert out["data"]["live"] is None
    assert _owned(docker_client, env) == {"network": [], "volume": []}
    [warning] = out["data"]["warnings"]
    assert app_images.v1 in warning and f"127.0.0.1:5000/{TEAM}/{env.name}" in warning

    code, out, err = env.json(*_args(env, "deploy", "--image", app_images.v1))
    assert code == 0, err
    assert f"warning: {app_images.v1} is not from this service's repository" in err
    v1 = out["data"]["record"]["digest"]
    # With a version live: the new container, the switch, the old one stopped; nothing done.
    before = _owned(docker_client, env)
    code, out, err = env.json(*_args(env, "deploy", "--image", app_images.v2, "--dry-run"))
    assert code == 0, err
    assert out["data"]["live"] == v1
    assert any("stop" in change and "drain" in change for change in out["data"]["changes"])
    assert any("companion store" in kept for kept in out["data"]["unchanged"])
    assert _owned(docker_client, env) == before
    code, out, err = env.json(*_args(env, "status"))
    assert out["data"]["live"]["image"] == v1


def test_history_lines_are_short_and_rollback_takes_a_number(
    environment: Environment, app_images: AppImages, labelled_v1: str
) -> None:
    env = environment
    v1 = _deploy(env, labelled_v1)
    _deploy(env, app_images.v2)
    # One short aligned line per deploy; build and commit from the image's OCI labels.
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


def test_exec_passes_the_exit_code_through(environment: Environment, app_images: AppImages) -> None:
    env = environment
    _deploy(env, app_images.v1)
    done = env.cli(*_args(env, "exec", "--", "sh", "-c", "echo out; exit 7"))
    assert done.returncode == 7, done.stderr
    assert done.stdout.strip() == "out"
    code, out, _ = env.json(*_args(env, "exec", "--", "sh", "-c", "exit 9"))
    assert (code, out["status"], out["data"]["exit_code"]) == (9, "failed", 9)


def test_exec_sends_stdin_with_i(environment: Environment, app_images: AppImages) -> None:
    env = environment
    _deploy(env, app_images.v1)
    done = subprocess_input(
        env, _args(env, "exec", "-i", "--", "sh", "-c", "tr a-z A-Z"), b"piped\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == b"PIPED"
    done = subprocess_input(
        env,
        _args(env, "exec", "--companion", "store", "-i", "--", "sh", "-c", "cat > /data/in"),
        b"into the companion\n",
    )
    assert done.returncode == 0, done.stderr
    done = env.cli(*_args(env, "exec", "--companion", "store", "--", "cat", "/data/in"))
    assert done.stdout.strip() == "into the companion"


def test_a_companion_is_read_exec_ed_into_and_restarted(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    _deploy(env, app_images.v1)
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


def test_the_lock_is_shown_and_released_and_remove_refuses_while_held(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    _deploy(env, app_images.v1)
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
    code, out, _ = env.json("lock", "show", str(env.descriptor), "--env", "test")
    assert out["data"]["held"] is False


def test_remove_keeps_volumes_and_history_unless_asked(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    _deploy(env, app_images.v1)
    _deploy(env, app_images.v2)
    code, out, err = env.json(*_args(env, "remove"))
    assert code == 0, err
    left = _owned(docker_client, env)
    assert set(left) == {"state", "network", "volume"}, left
    assert left["network"] == []
    assert any(v.endswith("store-data") for v in left["volume"])
    assert any("store-data" in kept for kept in out["data"]["kept"])
    code, out, err = env.json(*_args(env, "history"))
    assert [r["seq"] for r in out["data"]["records"]] == [1, 2]
    code, out, err = env.json(*_args(env, "remove", "--volumes", "--history"))
    assert code == 0, err
    assert _owned(docker_client, env) == {"network": [], "volume": []}


def subprocess_input(env: Environment, args: list[str], data: bytes) -> Any:
    import subprocess

    from .conftest import CLI

    return subprocess.run(
        [str(CLI), *args], input=data, capture_output=True, timeout=120, env=env.env
    )


@pytest.fixture
def listens_elsewhere(docker_client: Any, app_images: AppImages) -> Any:
    """Version 1 rebuilt to listen on 8081 whatever PORT says, as an image with a port of its
    own would (validate refuses an env PORT that disagrees with port, so the descriptor cannot
    say it): Docker's own healthcheck asks 8081 and passes."""
    tag = f"{app_images.v1}-port-8081"
    dockerfile = (
        f"FROM {app_images.v1}\n"
        "HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD printf 'GET /healthz "
        "HTTP/1.0\\r\\n\\r\\n' | nc -w 2 127.0.0.1 8081 | grep -q ' 200 '\n"
        'CMD ["sh", "-c", "exec httpd -f -p 0.0.0.0:8081 -h /www"]\n'
    )
    docker_client.images.build(
        fileobj=io.BytesIO(dockerfile.encode()), tag=tag, network_mode="host", rm=True
    )
    yield tag
    docker_client.images.remove(tag, force=True)


def test_a_wrong_port_names_the_address_probed(
    environment: Environment, listens_elsewhere: str
) -> None:
    env = environment
    # The app listens on 8081, the descriptor says 8080: Docker's own healthcheck passes, the
    # gate's probe does not, and the failure says where it asked.
    code, out, err = env.json(*_args(env, "deploy", "--image", listens_elsewhere, "--timeout", "3"))
    assert code == 3, err
    detail = out["data"]["record"]["detail"]
    assert re.search(r"probed http://198\.1[89]\.\d+\.\d+:8080/healthz", detail), detail
