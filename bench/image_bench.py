"""Benchmark: ``jenkins-bridge image build|push`` (the CLI, as a subprocess) against the
``docker`` CLI a user would otherwise run, on the same context, engine and local registry.

    .venv/bin/python bench/image_bench.py [--repeat 5]

Starts what it needs with scripts/services.sh up. Prints medians and ratios; asserts nothing.
Targets: uncached build and push <= 1.1x docker; cached build <= docker + 0.10 s (issue 21).

Which client jenkins-bridge uses follows $JENKINS_BRIDGE_IMAGE_CLIENT (auto: the docker CLI
when on PATH; sdk: docker-py), so ``JENKINS_BRIDGE_IMAGE_CLIENT=sdk`` measures the SDK path.
Every image jenkins-bridge builds carries 7 labels in one LABEL instruction at the end of the
target stage (one more step than plain ``docker build``): the "same labels" rows give docker
that same work, once as a user would pass them (7 ``--label``: the classic builder commits one
step per label) and once as the identical Dockerfile (like for like).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = "127.0.0.1:5000"
BASE_IMAGE = "jenkins-bridge-test/busybox:latest"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

DOCKERFILE = f"""\
FROM {BASE_IMAGE} AS base
ARG GREETING=hello
RUN mkdir -p /app/data && echo "$GREETING" > /app/greeting
COPY payload.bin /app/data/payload.bin
RUN wc -c /app/data/payload.bin > /app/size && ls -l /app > /app/listing
FROM base AS runtime
COPY fresh.bin /app/fresh.bin
RUN cat /app/size
"""


class Sample(float):
    """A command's wall time in seconds, carrying the user+sys CPU time of its whole process
    tree (``cpu``: ours and the docker CLI's children, not the engine's, which serves both)."""

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> Sample:
        sample = super().__new__(cls, wall)
        sample.cpu = cpu
        return sample


@dataclass(frozen=True)
class Row:
    scenario: str
    ours: Sample
    docker: Sample
    target: str

    @property
    def ratio(self) -> float:
        return self.ours / self.docker if self.docker else float("inf")

    @property
    def delta(self) -> float:
        return self.ours - self.docker

    @property
    def verdict(self) -> str:
        if self.target.startswith("<= +"):
            limit = float(self.target.removeprefix("<= +").removesuffix(" s"))
            return "met" if self.delta <= limit else "NOT met"
        if self.target.startswith("<= ") and self.target.endswith("x"):
            limit = float(self.target.removeprefix("<= ").removesuffix("x"))
            return "met" if self.ratio <= limit else "NOT met"
        return ""


def run(command: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        list(command), capture_output=True, text=True, env=env, check=False, timeout=600
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"benchmark command failed: {' '.join(command)}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Sample(elapsed, cpu)


def median_of(repeat: int, *timed: Callable[[], Sample]) -> list[Sample]:
    """Interleave the contenders so drift on the machine hits them alike."""
    samples: list[list[Sample]] = [[] for _ in timed]
    for _ in range(repeat):
        for index, measure in enumerate(timed):
            samples[index].append(measure())
    return [
        Sample(statistics.median(values), statistics.median(v.cpu for v in values))
        for values in samples
    ]


def write_context(directory: Path, repository: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "Dockerfile").write_text(DOCKERFILE)
    (directory / "payload.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    (directory / "fresh.bin").write_bytes(os.urandom(1024))
    descriptor = directory / "service.yaml"
    descriptor.write_text(
        "apiVersion: jenkins-bridge/v1\n"
        "kind: Service\n"
        "metadata: {name: bench-app, team: bench, description: Benchmark app}\n"
        "source: {repo: https://git.example.com/bench/app.git}\n"
        f"image: {{repository: {repository}, target: runtime}}\n"
    )
    return descriptor


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args(argv)
    repeat = max(1, options.repeat)

    subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "up"], check=True)
    docker = shutil.which("docker") or "docker"
    ours = [sys.executable, "-m", "jenkins_bridge"]
    repository = f"{REGISTRY}/jb-bench/app-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="jenkins-bridge-bench-"))
    context = workdir / "context"
    descriptor = write_context(context, repository)
    env = {k: v for k, v in os.environ.items() if k not in ("REGISTRY_USER", "REGISTRY_PASSWORD")}
    env.update({"GIT_COMMIT": COMMIT, "BRANCH_NAME": "main", "BUILD_NUMBER": "1"})
    env.pop("SOURCE_DATE_EPOCH", None)
    reproducible_env = {**env, "SOURCE_DATE_EPOCH": "1700000000"}
    docker_build = [docker, "build", "--network", "host", "--target", "runtime"]
    label_flags = [
        flag
        for key in (
            "org.opencontainers.image.source",
            "org.opencontainers.image.revision",
            "org.opencontainers.image.created",
            "org.opencontainers.image.version",
            "org.opencontainers.image.title",
            "org.opencontainers.image.description",
            "io.jenkins-bridge.descriptor-sha256",
        )
        for flag in ("--label", f"{key}=bench-{time.time_ns()}")
    ]
    # The Dockerfile jenkins-bridge builds: the labels in one LABEL line closing the target
    # stage (here the last one); outside the context, as jenkins-bridge keeps its copy.
    labelled = workdir / "Dockerfile.labelled"
    labelled.write_text(DOCKERFILE + f"LABEL {label_line_of(label_flags)}\n")
    ds_tag = f"{repository}:ds"
    rows: list[Row] = []
    load_before = os.getloadavg()
    try:
        run([*ours, "image", "build", str(descriptor)], env)  # warm the cache
        run([*docker_build, "-t", f"{repository}:docker", str(context)], env)

        ours_s, docker_s, docker_labels_s, docker_same_s = median_of(
            repeat,
            lambda: run([*ours, "image", "build", "--no-cache", str(descriptor)], env),
            lambda: run(
                [*docker_build, "--no-cache", "-t", f"{repository}:docker", str(context)], env
            ),
            lambda: run(
                [*docker_build, "--no-cache", *label_flags, "-t", f"{repository}:dl", str(context)],
                env,
            ),
            lambda: run(
                [*docker_build, "--no-cache", "-f", str(labelled), "-t", ds_tag, str(context)],
                env,
            ),
        )
        rows.append(Row("build, uncached", ours_s, docker_s, "<= 1.1x"))
        rows.append(
            Row("build, uncached (docker with same 7 --label)", ours_s, docker_labels_s, "")
        )
        rows.append(
            Row("build, uncached (docker, same LABEL line)", ours_s, docker_same_s, "<= 1.1x")
        )

        def docker_changed_label() -> Sample:
            # Like for like: the same LABEL line with a new created time, one step rebuilt.
            created = f"org.opencontainers.image.created=bench-{time.time_ns()}"
            changed = [*label_flags[:5], created, *label_flags[6:]]
            labelled.write_text(DOCKERFILE + f"LABEL {label_line_of(changed)}\n")
            return run([*docker_build, "-f", str(labelled), "-t", ds_tag, str(context)], env)

        ours_s, docker_s, docker_same_s = median_of(
            repeat,
            lambda: run([*ours, "image", "build", str(descriptor)], env),
            lambda: run([*docker_build, "-t", f"{repository}:docker", str(context)], env),
            docker_changed_label,
        )
        rows.append(Row("build, cached (labels change: 1 step)", ours_s, docker_s, "<= +0.10 s"))
        rows.append(
            Row("build, cached (docker, same changed LABEL line)", ours_s, docker_same_s, "")
        )
        run([*ours, "image", "build", str(descriptor)], reproducible_env)
        ours_s, docker_s = median_of(
            repeat,
            lambda: run([*ours, "image", "build", str(descriptor)], reproducible_env),
            lambda: run([*docker_build, "-t", f"{repository}:docker", str(context)], env),
        )
        rows.append(Row("build, cached (SOURCE_DATE_EPOCH set)", ours_s, docker_s, "<= +0.10 s"))

        counter = iter(range(10_000))

        def fresh_image() -> str:
            # A new top layer every time so neither push is a no-op.
            tag = f"push-{next(counter)}-{uuid.uuid4().hex[:6]}"
            (context / "fresh.bin").write_bytes(os.urandom(2 * 1024 * 1024))
            run([*docker_build, "-q", "-t", f"{repository}:{tag}", str(context)], env)
            return tag

        def push_ours() -> Sample:
            tag = fresh_image()
            return run([*ours, "image", "push", str(descriptor), "--tag", tag], env)

        def push_docker() -> Sample:
            tag = fresh_image()
            return run([docker, "push", f"{repository}:{tag}"], env)

        ours_s, docker_s = median_of(repeat, push_ours, push_docker)
        rows.append(Row("push, new 2 MiB layer", ours_s, docker_s, "<= 1.1x"))
    finally:
        _remove_images(docker, repository)
        shutil.rmtree(workdir, ignore_errors=True)

    load_after = os.getloadavg()
    _print_table(rows, repeat)
    client = os.environ.get("JENKINS_BRIDGE_IMAGE_CLIENT") or "auto"
    print(
        f"jenkins-bridge client: {client} (docker CLI on PATH: {bool(shutil.which('docker'))}); "
        f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    return 0


def label_line_of(label_flags: Sequence[str]) -> str:
    """``--label k=v ...`` flags as the arguments of one LABEL instruction."""
    pairs = (flag.partition("=") for flag in label_flags[1::2])
    return " ".join(f'"{key}"="{value}"' for key, _, value in pairs)


def _remove_images(docker: str, repository: str) -> None:
    listed = subprocess.run(
        [docker, "images", "--format", "{{.Repository}}:{{.Tag}}", repository],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if listed:
        subprocess.run([docker, "rmi", "-f", *listed], capture_output=True, check=False)


def _print_table(rows: Sequence[Row], repeat: int) -> None:
    print(f"\nimage bench: median of {repeat}, seconds (engine: legacy builder, registry :5000)")
    print("cpu: user+sys of the command's process tree (the client side; not the engine's)")
    header = (
        f"{'scenario':<48} {'jenkins-bridge':>14} {'docker':>8} {'ratio':>7} {'delta':>7} "
        f"{'cpu ours':>8} {'docker':>7}  target"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.scenario:<48} {row.ours:>14.3f} {row.docker:>8.3f} "
            f"{row.ratio:>6.2f}x {row.delta:>+7.3f} {row.ours.cpu:>8.3f} {row.docker.cpu:>7.3f}  "
            f"{row.target} {row.verdict}".rstrip()
        )


if __name__ == "__main__":
    raise SystemExit(main())
