"""Issue 22's proof, live on the local engine and nginx proxy under a loopback load:
v1 live; v2 (healthy) promoted through every canary step, exit 0; v3 (passes /healthz, answers
500 to 20 % of requests) rolled back at the first step, exit 3, v2 serving, the failed requests
all v3's; v4 (every answer 300 ms late, latencyP95Ms 200) rolled back, exit 3; a deploy
interrupted mid-canary puts all traffic back on v2 and removes the canary, exit 130; one killed
mid-canary leaves the split, which the next ``status`` clears.

v3 is caught the same way through an ssh:// engine (the proxy's log is read through the
engine). Prints each bad version's time to detect and the share of requests it affected
(bench/canary_bench.py compares them with blue-green deploys of the same versions).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .canary_scenario import (
    LATENCY_OBJECTIVE_MS,
    TEAM,
    Exposure,
    RecordingLoad,
    build_versions,
    free_subnet,
    write_descriptor,
)
from .conftest import CLI, Environment, SshEngine, _free_port, remove_service

pytestmark = [pytest.mark.docker, pytest.mark.deploy]

STATUS_LINE = re.compile(r"^canary \S+ at (10|50|100) %, step [123]/3$")


@pytest.fixture(scope="module")
def versions(
    docker_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    built = build_versions(docker_client, tmp_path_factory.mktemp("canary-app"))
    yield built
    for reference in built.values():
        docker_client.images.remove(reference, force=True)


@pytest.fixture
def canary_env(docker_client: Any, tmp_path: Path) -> Iterator[Environment]:
    name = f"can-{uuid.uuid4().hex[:8]}"
    listen = f"127.0.0.1:{_free_port()}"
    subnet = free_subnet(docker_client)
    descriptor = tmp_path / f"{name}.yaml"
    write_descriptor(descriptor, name=name, listen=listen, subnet=subnet)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BUILD_URL", "GIT_COMMIT", "DOCKER_HOST", "JENKINS_BRIDGE_TEST_KILL_AT")
    }
    try:
        yield Environment(name, descriptor, listen, subnet, env)
    finally:
        remove_service(docker_client, f"{TEAM}/{name}")


def _deploy(env: Environment, image: str, *extra: str) -> tuple[int, dict[str, Any], str]:
    return env.json("deploy", str(env.descriptor), "--env", "test", "--image", image, *extra)


def _status(env: Environment) -> dict[str, Any]:
    code, out, err = env.json("status", str(env.descriptor), "--env", "test")
    assert code == 0, err
    data: dict[str, Any] = out["data"]
    return data


def _deploy_watching_status(env: Environment, image: str) -> tuple[int, dict[str, Any], list[str]]:
    """Deploy ``image`` while ``status`` is asked over and over; the canary lines it showed."""
    args = ["--output", "json", "deploy", str(env.descriptor), "--env", "test", "--image", image]
    deploying = subprocess.Popen(
        [str(CLI), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env.env
    )
    seen: list[str] = []
    while deploying.poll() is None:
        _, out, _ = env.json("status", str(env.descriptor), "--env", "test")
        canary = out.get("data", {}).get("canary")
        if canary:
            seen.append(canary)
        time.sleep(0.2)
    stdout, stderr = deploying.communicate(timeout=60)
    assert deploying.returncode == 0, stderr
    return deploying.returncode, json.loads(stdout), seen


def _figures(name: str, result: dict[str, Any], exposure: Exposure) -> str:
    canary = result["data"]["canary"]
    return (
        f"{name}: detected after {canary['detectedAfterSeconds']:.2f} s at "
        f"{canary['results'][-1]['percent']} %; {exposure.bad} of {exposure.requests} requests "
        f"affected during the deploy ({exposure.fraction:.2%})"
    )


def test_a_canary_promotes_a_good_version_and_rolls_back_bad_ones(
    canary_env: Environment, versions: dict[str, str], docker_client: Any
) -> None:
    env = canary_env
    slow = LATENCY_OBJECTIVE_MS / 1000
    code, out, err = _deploy(env, versions["v1"])  # nothing live: no canary, switched at once
    assert code == 0, err
    assert "canary" not in out["data"]
    figures = []
    # Two clients: a 300 ms answer holds one up, and v4's step still sees enough requests.
    with RecordingLoad(env.listen, workers=2).running() as load:
        # v2: every step passes, then it is promoted like a blue-green switch.
        code, out, seen = _deploy_watching_status(env, versions["v2"])
        v2 = out["data"]["record"]["digest"]
        canary = out["data"]["canary"]
        assert [r["percent"] for r in canary["results"]] == [10, 50, 100]
        assert [r["outcome"] for r in canary["results"]] == ["pass", "pass", "pass"]
        assert all(r["canary"]["requests"] >= 10 for r in canary["results"])
        assert canary["passed"] and canary["source"] == "proxy-log"
        assert seen, "status never showed the canary while it ran"
        assert all(STATUS_LINE.match(line) for line in seen), seen
        status = _status(env)
        assert status["live"]["image"] == v2 and status["canary"] is None
        promoted = docker_client.containers.get(out["data"]["record"]["container"])
        assert promoted.labels["dev.jenkins-bridge.track"] == "canary"

        # The plan shows the steps and changes nothing.
        done = env.cli("deploy", str(env.descriptor), "--env", "test", "--image",
                       versions["v3"], "--dry-run")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "canary step 1/3: send it 10 % of requests" in done.stdout
        assert _status(env)["live"]["image"] == v2

        # v3: 20 % errors, caught at the first step.
        started = time.time()
        code, out, err = _deploy(env, versions["v3"])
        ended = time.time()
        assert code == 3, err
        assert out["status"] == "rolled-back"
        canary = out["data"]["canary"]
        (step,) = canary["results"]
        assert (step["percent"], step["outcome"]) == (10, "fail")
        assert step["reasons"][0].startswith("error ratio ")
        assert step["canary"]["errors"] > 0 and step["stable"]["errors"] == 0
        assert "error ratio" in err
        v3_container = out["data"]["record"]["container"]
        status = _status(env)
        assert status["live"]["image"] == v2 and status["canary"] is None
        assert {a["name"]: a["status"] for a in status["apps"]}[v3_container] == "exited"
        during = load.between(started, ended)
        failed = [a for a in during if a.status != 200]
        assert failed, "v3 failed no request: the canary got no traffic"
        assert {a.body for a in failed} == {"version 3 failed"}  # only the canary's share
        v3_exposure = Exposure.of(during, slow)
        assert v3_exposure.fraction < 0.2  # a blue-green switch would give v3 every request
        figures.append(_figures("v3 (20 % errors)", out, v3_exposure))

        # v4: 300 ms per answer against a 200 ms p95 objective.
        started = time.time()
        code, out, err = _deploy(env, versions["v4"])
        ended = time.time()
        assert code == 3, err
        (step,) = out["data"]["canary"]["results"]
        assert step["outcome"] == "fail"
        assert any(r.startswith("p95 latency ") for r in step["reasons"]), step
        assert _status(env)["live"]["image"] == v2
        figures.append(
            _figures("v4 (+300 ms)", out, Exposure.of(load.between(started, ended), slow))
        )

        # An interrupt mid-canary: all traffic back on v2, the canary removed, exit 130.
        env.env["JENKINS_BRIDGE_TEST_KILL_AT"] = "canary"
        code, out, err = _deploy(env, versions["v1"])
        del env.env["JENKINS_BRIDGE_TEST_KILL_AT"]
        assert code == 130, err
        status = _status(env)
        assert status["live"]["image"] == v2 and status["canary"] is None
        interrupted = [a for a in status["apps"] if a["image"] != v2 and a["status"] == "running"]
        assert interrupted == []

        # Killed mid-canary (nothing can clean up): the next status sends all traffic back.
        env.env["JENKINS_BRIDGE_TEST_KILL_AT"] = "canary:KILL"
        code, out, err = _deploy(env, versions["v1"])
        del env.env["JENKINS_BRIDGE_TEST_KILL_AT"]
        assert code == -9, err
        status = _status(env)
        assert any("sent all traffic back to the stable version" in c for c in status["cleared"])
        assert status["live"]["image"] == v2 and status["canary"] is None
        assert [a for a in status["apps"] if a["status"] == "running"] == [status["live"]]
        after = time.time()
        time.sleep(1)

    answers = load.answers
    assert len(answers) > 100
    # Every failed request of the whole run is v3's: v1 and v2 never failed one.
    assert {a.body for a in answers if a.status != 200} == {"version 3 failed"}
    assert {a.version for a in load.between(after, after + 60)} == {"2"}
    code, out, err = env.json("history", str(env.descriptor), "--env", "test")
    assert code == 0, err
    records = out["data"]["records"]
    assert [(r["action"], r["result"]) for r in records] == [
        ("deploy", "live"),
        ("deploy", "live"),
        ("deploy", "rolled-back"),
        ("deploy", "rolled-back"),
        ("deploy", "interrupted"),
        ("deploy", "interrupted"),  # the killed one, recorded by the next status
    ]
    assert "error ratio" in records[2]["detail"] and "p95 latency" in records[3]["detail"]
    assert records[4]["container"] not in {c.name for c in docker_client.containers.list(all=True)}
    print("\ncanary proof: " + "; ".join(figures))


def test_a_canary_through_an_ssh_engine_reads_the_proxy_log_there(
    canary_env: Environment, versions: dict[str, str], ssh_engine: SshEngine
) -> None:
    """The request log is read through the engine (no file on this machine): a remote engine
    judges a canary like a local one."""
    env = canary_env
    env.env["DOCKER_HOST"] = ssh_engine.docker_host
    env.env["PATH"] = f"{ssh_engine.path_prefix}:{env.env.get('PATH', '')}"
    code, out, err = _deploy(env, versions["v2"])
    assert code == 0, err
    with RecordingLoad(env.listen, workers=2).running():
        code, out, err = _deploy(env, versions["v3"])
    assert code == 3, err
    (step,) = out["data"]["canary"]["results"]
    assert step["outcome"] == "fail" and step["canary"]["errors"] > 0
    assert _status(env)["live"]["image"] == out["data"]["record"]["previous"]  # v2 serves
