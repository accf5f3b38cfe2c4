"""History, companions, the proxy and locks on a real engine when things go wrong: a corrupt and
a full state volume lose no record; a failed companion change keeps the working companion; a
changed ``listen`` or proxy image reconciles the proxy; a lock label of another shape is a
located refusal, also with ``--break-lock``."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import BASE_IMAGE, PROXY_IMAGE, TEAM, AppImages, Environment, _free_port
from .samples import port_is_free

pytestmark = [pytest.mark.docker, pytest.mark.deploy]


def _deploy(env: Environment, image: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    return env.json("deploy", str(env.descriptor), "--env", "test", "--image", image, *extra)


def _history(env: Environment) -> tuple[int, dict[str, Any], str]:
    return env.json("history", str(env.descriptor), "--env", "test")


def _answer(listen: str) -> str:
    host, port = listen.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return f"{response.status} {response.read().decode().strip()}"
    except OSError as exc:
        return repr(exc)
    finally:
        connection.close()


def _in_state(docker_client: Any, env: Environment, script: str) -> str:
    """Run ``script`` in a throw-away container with the state volume at /jb-state. The CLI
    attaches to the container's output: docker-py's ``run(remove=True)`` reads it back from the
    log afterwards and, on a busy engine, sometimes got nothing for a short-lived container."""
    del docker_client  # the engine the CLI talks to is the same default one
    volume = f"{env.names.state}:/jb-state"
    argv = ["docker", "run", "--rm", "--network", "none", "-v", volume, BASE_IMAGE]
    done = subprocess.run([*argv, "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_corrupt_history_is_kept_aside_not_overwritten(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    assert _deploy(env, app_images.v1)[0] == 0
    good = json.loads(_in_state(docker_client, env, "cat /jb-state/history.json"))
    damaged = json.dumps([good[0], {"seq": "two"}])
    _in_state(docker_client, env, f"printf '%s' '{damaged}' > /jb-state/history.json")

    code, out, err = _history(env)
    assert code == 1 and "Traceback" not in err, err
    message = out["errors"][0]["message"]
    assert f"{env.names.state}:/jb-state/history.json: record [1]" in message
    assert "'seq' is str, not int" in message
    code, out, _ = env.json("status", str(env.descriptor), "--env", "test")
    assert code == 0 and "record [1]" in out["data"]["history_problem"]

    code, out, err = _deploy(env, app_images.v2)
    assert code == 0, err
    assert "kept it aside as /jb-state/history.unreadable-" in err
    kept = _in_state(docker_client, env, "cat /jb-state/history.unreadable-*.json")
    assert kept == damaged  # byte for byte
    code, out, err = _history(env)
    assert code == 0, err
    records = out["data"]["records"]
    assert [r["seq"] for r in records] == [1, 2] and records[0] == good[0]


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs mounted on the engine's host (this machine), to fill up."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "tiny"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_state_volume_loses_no_record(
    tiny_folder: Path, environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    # The state volume lives on the tiny tmpfs (a bind volume: it keeps its content between
    # mounts, unlike a tmpfs volume, which the engine mounts afresh for every copy).
    docker_client.volumes.create(
        env.names.state,
        driver="local",
        driver_opts={"type": "none", "device": str(tiny_folder), "o": "bind"},
        labels={"dev.jenkins-bridge.service": f"{TEAM}/{env.name}"},
    )
    # Records of ~2.8 kB: two fill two 4 kB pages, three need a third, so a write that first
    # deletes the old file (the engine's archive API does) cannot fit the new one either.
    env.env["BUILD_URL"] = "https://ci.example.com/job/" + "x" * 2200 + "/1/"
    assert _deploy(env, app_images.v1)[0] == 0
    assert _deploy(env, app_images.v2)[0] == 0
    before = _history(env)[1]["data"]["records"]
    _in_state(docker_client, env, "dd if=/dev/zero of=/jb-state/filler bs=1k 2>/dev/null; true")

    code, out, err = _deploy(env, app_images.v1)
    assert code == 1, err
    message = out["errors"][0]["message"]
    assert f"{env.names.app(3)} is live and serves" in message, message
    assert "record #3 (deploy, live) could not be written" in message
    assert "history.json is untouched (2 earlier records kept)" in message
    assert _answer(env.listen) == "200 version 1"
    code, out, err = _history(env)
    assert code == 0 and out["data"]["records"] == before, err

    # rollback still knows where to go (v2, the previous live version), full volume or not
    code, out, err = env.json("rollback", str(env.descriptor), "--env", "test")
    assert code == 1 and "could not be written" in out["errors"][0]["message"], err
    assert _answer(env.listen) == "200 version 2"
    assert _history(env)[1]["data"]["records"] == before

    _in_state(docker_client, env, "rm /jb-state/filler")
    assert _deploy(env, app_images.v1)[0] == 0
    records = _history(env)[1]["data"]["records"]
    assert records[:2] == before and records[-1]["result"] == "live"
    assert not any(r["result"] == "failed" for r in records)


def _replace_in_descriptor(env: Environment, old: str, new: str) -> None:
    text = env.descriptor.read_text()
    assert old in text
    env.descriptor.write_text(text.replace(old, new))


def test_a_failed_companion_change_keeps_the_working_companion(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    store = env.names.companion("store")
    assert _deploy(env, app_images.v1)[0] == 0
    docker_client.containers.get(store).exec_run(["sh", "-c", "echo kept > /data/key"])
    working = docker_client.containers.get(store).id
    _replace_in_descriptor(env, '"echo | nc -w 2 127.0.0.1 8080"', '"exit 1"')

    code, out, err = _deploy(env, app_images.v2)
    assert code == 1, err
    message = out["errors"][0]["message"]
    assert "companion store" in message and "the previous one is back under its name" in message
    back = docker_client.containers.get(store)
    assert back.id == working and back.status == "running"
    assert back.exec_run(["cat", "/data/key"]).output.decode().strip() == "kept"
    assert docker_client.containers.get(f"{store}-failed").status == "exited"
    assert _answer(env.listen) == "200 version 1"
    last = _history(env)[1]["data"]["records"][-1]
    assert last["result"] == "failed" and "companion store" in last["detail"]

    _replace_in_descriptor(env, '"exit 1"', '"echo | nc -w 2 127.0.0.1 8080"')
    _replace_in_descriptor(env, '"8080", -h, /data]', '"8080", -h, /data, -v]')
    code, out, err = _deploy(env, app_images.v2)
    assert code == 0, err
    replaced = docker_client.containers.get(store)
    assert replaced.id != working and replaced.status == "running"
    assert replaced.exec_run(["cat", "/data/key"]).output.decode().strip() == "kept"
    names = [c.name for c in docker_client.containers.list(all=True, filters={"name": store})]
    assert f"{store}-previous" not in names


def test_the_proxy_follows_listen_and_its_image(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    other_image = f"jb-test-proxy-{uuid.uuid4().hex[:8]}:other"
    docker_client.images.get(PROXY_IMAGE).tag(other_image)
    try:
        _replace_in_descriptor(env, f"proxyImage: {PROXY_IMAGE}", f"proxyImage: {other_image}")
        assert _deploy(env, app_images.v1)[0] == 0
        old_listen = env.listen
        new_listen = f"127.0.0.1:{_free_port()}"
        _replace_in_descriptor(env, f"proxyImage: {other_image}", f"proxyImage: {PROXY_IMAGE}")
        _replace_in_descriptor(env, f'listen: "{old_listen}"', f'listen: "{new_listen}"')
        code, out, err = _deploy(env, app_images.v2)
        assert code == 0, err
        assert f"it listens on {old_listen}, not on {new_listen}" in err
        assert _answer(new_listen) == "200 version 2"
        assert port_is_free(int(old_listen.rsplit(":", 1)[1]))
        proxy = docker_client.containers.get(env.names.proxy)
        assert proxy.attrs["Config"]["Image"] == PROXY_IMAGE
        env.listen = new_listen
        code, out, _ = env.json("status", str(env.descriptor), "--env", "test")
        assert code == 0 and out["data"]["serving"] is True
    finally:
        docker_client.images.remove(other_image)


def test_status_says_nothing_serves_when_the_proxy_is_stopped(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    assert _deploy(env, app_images.v1)[0] == 0
    docker_client.containers.get(env.names.proxy).stop(timeout=1)
    code, out, err = env.json("status", str(env.descriptor), "--env", "test")
    assert code == 1, err
    assert out["status"] == "not-live" and out["data"]["serving"] is False
    assert "is exited" in out["data"]["answer"]
    assert _deploy(env, app_images.v1)[0] == 0  # the next deploy starts it again
    assert env.json("status", str(env.descriptor), "--env", "test")[0] == 0


def test_a_lock_label_of_another_shape_is_a_located_refusal(
    environment: Environment, app_images: AppImages, docker_client: Any
) -> None:
    env = environment
    label = json.dumps({"holder": "x", "host": socket.gethostname(), "pid": "1",
                        "since": "t", "since_epoch": 1.0})  # fmt: skip
    lock = docker_client.containers.create(
        PROXY_IMAGE,
        ["true"],
        name=env.names.lock,
        labels={
            "dev.jenkins-bridge.service": f"{TEAM}/{env.name}",
            "dev.jenkins-bridge.lock": label,
        },
    )
    code, out, err = _deploy(env, app_images.v1, "--lock-wait", "0")
    assert code == 1 and "Traceback" not in err, err
    assert out["errors"][0]["code"] == "lock-held"
    assert "lock field 'pid' is str, not int" in out["errors"][0]["message"]
    code, out, err = env.json("status", str(env.descriptor), "--env", "test")
    assert "Traceback" not in err and "an unreadable lock" in out["data"]["lock"], err
    code, out, err = _deploy(env, app_images.v1, "--break-lock")
    assert code == 0, err
    assert "taking over the --break-lock lock (an unreadable lock)" in err
    assert lock.id not in [c.id for c in docker_client.containers.list(all=True)]
