"""Building and pushing against the real engine and registries (scripts/services.sh up).

Every test runs twice: through the docker CLI and through docker-py (the Docker SDK), the two
clients ``containers.build.connect_engine`` chooses between ($JENKINS_BRIDGE_IMAGE_CLIENT).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jenkins_bridge.cli import main
from jenkins_bridge.containers.build import IMAGE_CLIENT_VARIABLE, ImageEngine, connect_engine
from jenkins_bridge.containers.docker_cli import DockerCli
from jenkins_bridge.containers.engine import (
    BuildRequest,
    Engine,
    RegistryCredentials,
)
from jenkins_bridge.containers.errors import (
    BuildFailed,
    ContextMissing,
    DaemonUnreachable,
    DockerfileMissing,
    ImageNotFound,
    InvalidImageName,
    RegistryAuthFailed,
    RegistryUnreachable,
)

from .conftest import BASE_IMAGE, ROOT, Services, closed_port, unique_repository

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]

COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
SHORT = COMMIT[:12]

SIMPLE_DOCKERFILE = f"""\
FROM {BASE_IMAGE}
ARG GREETING=unset
COPY payload.txt /payload.txt
RUN echo "$GREETING" > /greeting
"""

MULTI_STAGE_DOCKERFILE = f"""\
FROM {BASE_IMAGE} AS base
ARG GREETING=unset
RUN echo "$GREETING" > /greeting
FROM base AS runtime
RUN echo runtime > /stage
FROM base AS debug
RUN echo debug > /stage
"""


def write_service(
    directory: Path,
    repository: str,
    dockerfile: str | None = SIMPLE_DOCKERFILE,
    *,
    image_fields: str = "",
    description: str = "Test app",
) -> Path:
    """A descriptor plus a build context in ``directory``; returns the descriptor path."""
    directory.mkdir(parents=True, exist_ok=True)
    if dockerfile is not None:
        (directory / "Dockerfile").write_text(dockerfile)
    (directory / "payload.txt").write_text("payload\n")
    descriptor = directory / "service.yaml"
    descriptor.write_text(
        textwrap.dedent(
            f"""\
            apiVersion: jenkins-bridge/v1
            kind: Service
            metadata:
              name: test-app
              team: qa
              description: {json.dumps(description)}
            source:
              repo: https://git.example.com/qa/test-app.git
            image:
              repository: {repository}
            """
        )
        + textwrap.indent(textwrap.dedent(image_fields), "  ")
    )
    return descriptor


@dataclass
class ImageCase:
    """One test's world: fresh repositories (their images removed afterwards), descriptors
    and build contexts under ``root``, a clean environment, and the CLI run in-process."""

    services: Services
    repositories: list[str]
    env: pytest.MonkeyPatch
    root: Path
    capsys: pytest.CaptureFixture[str]

    def repository(self, registry: str | None = None) -> str:
        return unique_repository(registry or self.services.plain_registry, self.repositories)

    def service(
        self,
        dockerfile: str | None = SIMPLE_DOCKERFILE,
        *,
        registry: str | None = None,
        folder: str = "svc",
        commit: str | None = COMMIT,
        image_fields: str = "",
        description: str = "Test app",
    ) -> tuple[str, Path]:
        """A new repository and a descriptor for it in ``root/folder``; ``commit`` is the
        ``GIT_COMMIT`` the build sees (None: the checkout's HEAD)."""
        repository = self.repository(registry)
        descriptor = write_service(
            self.root / folder,
            repository,
            dockerfile,
            image_fields=image_fields,
            description=description,
        )
        if commit is not None:
            self.env.setenv("GIT_COMMIT", commit)
        return repository, descriptor

    def cli(self, *args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture(params=["cli", "sdk"])
def client(request: pytest.FixtureRequest, clean_env: pytest.MonkeyPatch) -> str:
    """Which client builds and pushes: the docker CLI or docker-py."""
    clean_env.setenv(IMAGE_CLIENT_VARIABLE, request.param)
    return str(request.param)


def connect() -> ImageEngine:
    """The adapter the test's client selects (the CLI's or the SDK's)."""
    engine = connect_engine()
    expected = DockerCli if os.environ[IMAGE_CLIENT_VARIABLE] == "cli" else Engine
    assert isinstance(engine, expected)
    return engine


@pytest.fixture
def case(
    client: str,
    services: Services,
    repositories: list[str],
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> ImageCase:
    return ImageCase(services, repositories, clean_env, tmp_path, capsys)


def run_in_image(client: Any, reference: str, *command: str) -> str:
    output = client.containers.run(
        reference, list(command), remove=True, network_mode="host", stdout=True
    )
    return bytes(output).decode().strip()


def registry_digest(registry: str, path: str, tag: str, auth: tuple[str, str] | None) -> str:
    request = urllib.request.Request(
        f"http://{registry}/v2/{path}/manifests/{tag}",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    if auth is not None:
        import base64

        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.headers["Docker-Content-Digest"])


# -- build ---------------------------------------------------------------------------------


def test_build_tags_and_labels_the_image(case: ImageCase, docker_client: Any) -> None:
    repository, descriptor = case.service(description='Says "hi" for $5')
    case.env.setenv("BRANCH_NAME", "feature/Login page")
    case.env.setenv("BUILD_NUMBER", "17")
    case.env.setenv("BUILD_URL", "https://ci.example.com/job/test-app/17/")
    case.env.setenv("SOURCE_DATE_EPOCH", "1700000000")

    code, out, err = case.cli("--output", "json", "image", "build", str(descriptor))

    assert code == 0, err
    result = json.loads(out)["data"]
    assert result["tags"] == [SHORT, "feature-Login-page-17"]
    assert result["reference"] == f"{repository}:{SHORT}"
    assert result["pushed"] is False
    assert "Step 1/" in err  # the build log streams to stderr
    image = docker_client.images.get(f"{repository}:{SHORT}")
    assert sorted(image.tags) == sorted(f"{repository}:{tag}" for tag in result["tags"])
    labels = image.labels
    assert labels == result["labels"]
    assert labels["org.opencontainers.image.revision"] == COMMIT
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert labels["org.opencontainers.image.source"] == "https://git.example.com/qa/test-app.git"
    assert labels["org.opencontainers.image.title"] == "test-app"
    assert labels["org.opencontainers.image.description"] == 'Says "hi" for $5'
    assert labels["org.opencontainers.image.version"] == "feature-Login-page-17"
    assert labels["io.jenkins.build-url"] == "https://ci.example.com/job/test-app/17/"
    assert len(labels["io.jenkins-bridge.descriptor-sha256"]) == 64
    assert f"{repository}:latest" not in image.tags


def test_build_is_cached_and_reproducible_with_source_date_epoch(
    case: ImageCase, docker_client: Any
) -> None:
    _, descriptor = case.service()
    case.env.setenv("SOURCE_DATE_EPOCH", "1700000000")

    first = case.cli("--output", "json", "image", "build", str(descriptor))
    second = case.cli("--output", "json", "image", "build", str(descriptor))

    assert first[0] == second[0] == 0
    assert json.loads(first[1])["data"]["image_id"] == json.loads(second[1])["data"]["image_id"]
    assert "Running in" not in second[2]  # every step, the label step included, came from cache


def test_build_args_and_target_select_what_is_built(case: ImageCase, docker_client: Any) -> None:
    repository, descriptor = case.service(
        MULTI_STAGE_DOCKERFILE,
        image_fields="""\
        target: runtime
        buildArgs: {GREETING: hello-from-descriptor}
        """,
    )

    code, out, err = case.cli("image", "build", str(descriptor))

    assert code == 0, err
    assert out.strip() == f"{repository}:{SHORT}"
    reference = out.strip()
    assert run_in_image(docker_client, reference, "cat", "/greeting") == "hello-from-descriptor"
    assert run_in_image(docker_client, reference, "cat", "/stage") == "runtime"
    labels = docker_client.images.get(reference).labels
    assert labels["org.opencontainers.image.revision"] == COMMIT  # the target stage is labelled


def test_build_uses_git_head_and_latest_only_when_asked(
    case: ImageCase, docker_client: Any
) -> None:
    repository, descriptor = case.service(folder="checkout", commit=None)
    context = descriptor.parent
    git = ["git", "-C", str(context), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()

    code, out, err = case.cli(
        "--output", "json", "image", "build", str(descriptor), "--tag", "latest"
    )

    assert code == 0, err
    result = json.loads(out)["data"]
    assert result["tags"] == [head[:12], "latest"]
    assert result["reference"] == f"{repository}:{head[:12]}"
    assert result["labels"]["org.opencontainers.image.revision"] == head


def test_failing_run_step_names_the_step_and_its_last_lines(
    case: ImageCase, docker_client: Any
) -> None:
    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo compiling && echo 'missing symbol foo' && exit 3\n"
    repository, descriptor = case.service(dockerfile)

    with connect() as engine, pytest.raises(BuildFailed) as caught:
        engine.build(_request(descriptor.parent, repository), lambda line: None)
    assert caught.value.step is not None and "RUN echo compiling" in caught.value.step
    assert caught.value.last_lines[-2:] == ("compiling", "missing symbol foo")
    assert "non-zero code: 3" in caught.value.reason

    code, out, err = case.cli("image", "build", str(descriptor))
    assert code == 1
    assert out == ""
    error_line = err.strip().splitlines()[-1]
    assert error_line.startswith("error: step '2/3 RUN echo compiling")
    assert "missing symbol foo" in error_line
    assert not docker_client.images.list(name=repository)


def test_missing_dockerfile_and_context_fail_before_the_engine(case: ImageCase) -> None:
    repository = case.repository()
    case.env.setenv("GIT_COMMIT", COMMIT)
    no_dockerfile = write_service(case.root / "a", repository, dockerfile=None)
    no_context = write_service(
        case.root / "b", repository, image_fields="context: does-not-exist\n"
    )

    code, out, err = case.cli("--output", "json", "image", "build", str(no_dockerfile))
    assert code == 1
    assert json.loads(out)["status"] == "dockerfile-missing"
    assert str(case.root / "a" / "Dockerfile") in out

    code, out, err = case.cli("image", "build", str(no_context))
    assert code == 1
    assert "does-not-exist" in err and "does not exist" in err

    with pytest.raises(ContextMissing):
        connect().build(_request(case.root / "nowhere", repository), print)
    with pytest.raises(DockerfileMissing):
        connect().build(_request(case.root / "a", repository), print)


def test_unreachable_daemon_is_one_line_and_exit_1(case: ImageCase) -> None:
    _, descriptor = case.service()
    docker_host = f"tcp://127.0.0.1:{closed_port()}"
    case.env.setenv("DOCKER_HOST", docker_host)

    code, out, err = case.cli("image", "build", str(descriptor))

    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: cannot reach the Docker engine at {docker_host}")
    assert "scripts/services.sh up" in err
    with pytest.raises(DaemonUnreachable):
        connect().image_labels("busybox")


def test_names_the_engine_rejects_are_invalid_image_names(
    case: ImageCase, docker_client: Any
) -> None:
    repository, descriptor = case.service()
    with connect() as engine:
        built = engine.build(_request(descriptor.parent, repository), lambda line: None)
        with pytest.raises(InvalidImageName) as caught:
            engine.tag(built.image_id, f"{case.services.plain_registry}/Upper/Case", "v1")
        assert "lowercase" in caught.value.message
        with pytest.raises(InvalidImageName):
            engine.push(f"{case.services.plain_registry}/Upper/Case", ["v1"], lambda line: None)


# -- push ----------------------------------------------------------------------------------


@pytest.mark.registry
def test_build_and_push_prints_the_digest_reference(case: ImageCase, docker_client: Any) -> None:
    repository, descriptor = case.service()
    case.env.setenv("BRANCH_NAME", "main")
    case.env.setenv("BUILD_NUMBER", "5")

    code, out, err = case.cli("image", "build", str(descriptor), "--push")

    assert code == 0, err
    reference = out.strip()
    assert reference.startswith(f"{repository}@sha256:")
    digest = reference.split("@", 1)[1]
    path = repository.split("/", 1)[1]
    assert registry_digest(case.services.plain_registry, path, SHORT, None) == digest
    assert registry_digest(case.services.plain_registry, path, "main-5", None) == digest


@pytest.mark.registry
def test_push_with_credentials_to_the_auth_registry_never_shows_the_password(
    case: ImageCase, docker_client: Any
) -> None:
    repository, descriptor = case.service(registry=case.services.auth_registry)
    case.env.setenv("REGISTRY_USER", case.services.user)
    case.env.setenv("REGISTRY_PASSWORD", case.services.password)

    build = case.cli("image", "build", str(descriptor))
    push = case.cli("--output", "json", "image", "push", str(descriptor), "--tag", SHORT)

    assert build[0] == 0, build[2]
    assert push[0] == 0, push[2]
    result = json.loads(push[1])["data"]
    assert result["reference"].startswith(f"{repository}@sha256:")
    path = repository.split("/", 1)[1]
    auth = (case.services.user, case.services.password)
    assert registry_digest(case.services.auth_registry, path, SHORT, auth) == result["digest"]
    labels = docker_client.images.get(f"{repository}:{SHORT}").labels
    for text in (*build[1:], *push[1:], json.dumps(labels)):
        assert case.services.password not in text


@pytest.mark.registry
def test_wrong_password_is_registry_auth_failed_and_scrubbed(
    case: ImageCase, docker_client: Any
) -> None:
    repository, descriptor = case.service(registry=case.services.auth_registry)
    wrong_password = "not-the-Secr3t-" + case.services.password
    case.env.setenv("REGISTRY_USER", case.services.user)
    case.env.setenv("REGISTRY_PASSWORD", wrong_password)

    code, out, err = case.cli("--output", "json", "image", "build", "--push", str(descriptor))

    assert code == 1
    envelope = json.loads(out)
    assert envelope["status"] == "registry-auth-failed"
    assert "127.0.0.1:5001" in envelope["errors"][0]["message"]
    assert "REGISTRY_PASSWORD" in envelope["errors"][0]["message"]
    assert wrong_password not in out + err
    with connect() as engine, pytest.raises(RegistryAuthFailed) as caught:
        engine.push(repository, [SHORT], lambda line: None, RegistryCredentials("x", "y"))
    assert caught.value.had_credentials


@pytest.mark.registry
def test_push_without_credentials_to_the_auth_registry_fails(
    case: ImageCase, docker_client: Any
) -> None:
    _, descriptor = case.service(registry=case.services.auth_registry)
    assert case.cli("image", "build", str(descriptor))[0] == 0

    code, out, err = case.cli("image", "push", str(descriptor), "--tag", SHORT)

    assert code == 1
    assert out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: registry 127.0.0.1:5001 requires credentials")
    assert "REGISTRY_USER" in last


@pytest.mark.registry
def test_registry_down_is_registry_unreachable(case: ImageCase, docker_client: Any) -> None:
    down_registry = f"127.0.0.1:{closed_port()}"
    repository, descriptor = case.service(registry=down_registry)
    with connect() as engine:
        engine.build(_request(descriptor.parent, repository), lambda line: None)
        with pytest.raises(RegistryUnreachable) as caught:
            engine.push(repository, [SHORT], lambda line: None)
    assert caught.value.registry == down_registry
    assert "connection refused" in caught.value.message


def test_pushing_a_tag_that_was_never_built_is_image_not_found(case: ImageCase) -> None:
    repository = case.repository()
    with connect() as engine, pytest.raises(ImageNotFound) as caught:
        engine.push(repository, ["never-built"], lambda line: None)
    assert caught.value.reference == f"{repository}:never-built"


def test_registry_password_in_build_args_is_refused(case: ImageCase) -> None:
    _, descriptor = case.service(
        image_fields=f"buildArgs: {{TOKEN: {json.dumps(case.services.password)}}}\n",
    )
    case.env.setenv("REGISTRY_USER", case.services.user)
    case.env.setenv("REGISTRY_PASSWORD", case.services.password)

    code, out, err = case.cli("image", "build", str(descriptor))

    assert code == 1
    assert "image.buildArgs TOKEN contains the registry password" in err
    assert case.services.password not in out + err


@pytest.mark.registry
def test_cli_end_to_end_in_a_subprocess(case: ImageCase, docker_client: Any) -> None:
    repository, descriptor = case.service(registry=case.services.auth_registry)
    env = {
        **os.environ,
        "GIT_COMMIT": COMMIT,
        "REGISTRY_USER": case.services.user,
        "REGISTRY_PASSWORD": case.services.password,
    }
    command = [sys.executable, "-m", "jenkins_bridge", "--output", "json", "image", "build"]
    completed = subprocess.run(
        [*command, str(descriptor), "--push", "--cache-from", BASE_IMAGE],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["status"] == "pushed"
    assert result["data"]["reference"] == f"{repository}@{result['data']['digest']}"
    assert result["data"]["tags"] == [SHORT]
    assert case.services.password not in completed.stdout + completed.stderr


def _request(context: Path, repository: str) -> BuildRequest:
    return BuildRequest(
        context_dir=context,
        dockerfile=context / "Dockerfile",
        repository=repository,
        tags=(SHORT,),
        labels={"org.opencontainers.image.revision": COMMIT},
    )


# -- the build context stays inside the descriptor's repository ------------------------------


def test_a_link_out_of_the_repository_is_refused_and_nothing_is_built(
    case: ImageCase, docker_client: Any
) -> None:

    from jenkins_bridge.containers.errors import ContextLinkOutside

    repository, descriptor = case.service()
    (case.root / "host-secret.txt").write_text("HOST-SECRET-VALUE\n")
    (case.root / "svc" / "payload.txt").unlink()
    (case.root / "svc" / "payload.txt").symlink_to(case.root / "host-secret.txt")

    code, out, err = case.cli("--output", "json", "image", "build", str(descriptor))

    assert code == 1, err
    assert json.loads(out)["status"] == "context-link-outside"
    assert "HOST-SECRET-VALUE" not in out + err
    assert not docker_client.images.list(name=repository)
    # The adapter refuses on its own too, whoever builds the request.
    request = _request(case.root / "svc", repository)._replace(repository_root=case.root / "svc")
    with connect() as engine, pytest.raises(ContextLinkOutside):
        engine.build(request, lambda line: None)
    assert not docker_client.images.list(name=repository)


def test_a_link_inside_the_context_still_builds(case: ImageCase, docker_client: Any) -> None:
    dockerfile = f"FROM {BASE_IMAGE}\nCOPY alias.txt /alias.txt\n"
    _, descriptor = case.service(dockerfile)
    (case.root / "svc" / "alias.txt").symlink_to("payload.txt")

    code, out, err = case.cli("image", "build", str(descriptor))

    assert code == 0, err
    assert run_in_image(docker_client, out.strip(), "cat", "/alias.txt") == "payload"


# -- Ctrl-C --------------------------------------------------------------------------------


def test_ctrl_c_during_a_build_exits_130_without_a_traceback(
    case: ImageCase, docker_client: Any
) -> None:
    import signal
    import threading

    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo sleeping-now && sleep 60\n"
    repository, descriptor = case.service(dockerfile)
    binary = str(ROOT / ".venv" / "bin" / "jenkins-bridge")
    process = subprocess.Popen(
        [binary, "--output", "json", "image", "build", str(descriptor), "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None and process.stdout is not None
    lines: list[str] = []
    started = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "sleeping-now" in line:
                started.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert started.wait(60), "".join(lines)
        os.killpg(process.pid, signal.SIGINT)
        out = process.stdout.read()
        assert process.wait(timeout=30) == 130
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    reader.join(timeout=10)
    err = "".join(lines)
    assert "Traceback" not in err
    envelope = json.loads(out)
    assert envelope["status"] == "interrupted" and envelope["data"] == {}
    assert not docker_client.images.list(name=repository)


def test_build_arg_on_the_command_line_wins_over_the_descriptor(
    case: ImageCase, docker_client: Any
) -> None:
    _, descriptor = case.service(
        MULTI_STAGE_DOCKERFILE,
        image_fields="""\
        target: runtime
        buildArgs: {GREETING: hello-from-descriptor}
        """,
    )
    code, out, err = case.cli(
        "image", "build", str(descriptor), "--build-arg", "GREETING=hello from the CLI"
    )
    assert code == 0, err
    assert run_in_image(docker_client, out.strip(), "cat", "/greeting") == "hello from the CLI"


@pytest.mark.registry
def test_push_without_a_tag_pushes_what_build_tagged(case: ImageCase, docker_client: Any) -> None:
    repository, descriptor = case.service()
    case.env.setenv("BRANCH_NAME", "main")
    case.env.setenv("BUILD_NUMBER", "6")
    code, built, err = case.cli("image", "build", str(descriptor))
    assert code == 0, err
    assert built.strip() == f"{repository}:{SHORT}"
    code, pushed, err = case.cli("image", "push", str(descriptor))
    assert code == 0, err
    digest = pushed.strip().split("@", 1)[1]
    path = repository.split("/", 1)[1]
    assert registry_digest(case.services.plain_registry, path, SHORT, None) == digest
    assert registry_digest(case.services.plain_registry, path, "main-6", None) == digest


# -- SIGTERM (a Jenkins abort) ---------------------------------------------------------------


def _start_cli(args: list[str], tmpdir: Path) -> subprocess.Popen[str]:
    """The installed CLI in a subprocess, its temporary files under ``tmpdir``."""
    binary = str(ROOT / ".venv" / "bin" / "jenkins-bridge")
    return subprocess.Popen(
        [binary, "--output", "json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        start_new_session=True,
    )


def _terminate(process: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM to the CLI alone (not its group): exit code and stdout."""
    import signal

    assert process.stdout is not None
    try:
        process.send_signal(signal.SIGTERM)
        out = process.stdout.read()
        return process.wait(timeout=60), out
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_sigterm_during_a_build_exits_130_and_leaves_no_temporary_files(
    case: ImageCase, docker_client: Any
) -> None:
    import threading

    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo sleeping-now && sleep 60\n"
    repository, descriptor = case.service(dockerfile)
    tmpdir = case.root / "tmp"
    tmpdir.mkdir()
    process = _start_cli(["image", "build", str(descriptor), "--no-cache"], tmpdir)
    assert process.stderr is not None
    started = threading.Event()
    lines: list[str] = []

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if "sleeping-now" in line:
                started.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    assert started.wait(60), "".join(lines)
    assert list(tmpdir.iterdir())  # the labelled Dockerfile's folder, while the build runs

    code, out = _terminate(process)

    assert code == 130, "".join(lines)
    assert json.loads(out)["status"] == "interrupted"
    assert "Traceback" not in "".join(lines)
    assert list(tmpdir.iterdir()) == []
    assert not docker_client.images.list(name=repository)


@pytest.mark.registry
def test_sigterm_during_a_push_removes_the_docker_config_with_the_credentials(
    case: ImageCase, client: str, docker_client: Any
) -> None:
    import socket
    import time

    # A registry that accepts connections and never answers: the push hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        registry = f"127.0.0.1:{listener.getsockname()[1]}"
        _, descriptor = case.service(registry=registry)
        # An image of its own (a tag on the shared base image would be removed with it).
        assert case.cli("image", "build", str(descriptor))[0] == 0
        case.env.setenv("REGISTRY_USER", "ci")
        case.env.setenv("REGISTRY_PASSWORD", "pushing-Secr3t")
        tmpdir = case.root / "tmp"
        tmpdir.mkdir()
        process = _start_cli(["image", "push", str(descriptor), "--tag", SHORT], tmpdir)
        listener.settimeout(60)
        accepted, _ = listener.accept()  # the engine reached the registry: the push runs
        try:
            if client == "cli":  # our DOCKER_CONFIG exists only while the push runs
                deadline = time.monotonic() + 10
                while not list(tmpdir.glob("jenkins-bridge-docker-config-*")):
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                (config_dir,) = tmpdir.glob("jenkins-bridge-docker-config-*")
                assert stat_mode(config_dir) == 0o700
                assert stat_mode(config_dir / "config.json") == 0o600
            code, out = _terminate(process)
        finally:
            accepted.close()
        assert process.stderr is not None
        err = process.stderr.read()
        assert code == 130, err
        assert json.loads(out)["status"] == "interrupted"
        assert list(tmpdir.iterdir()) == []
        assert "pushing-Secr3t" not in out + err
    finally:
        listener.close()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    """``pid`` exists and is not a zombie (an orphan nobody reaps yet has ended)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _build_containers(docker_client: Any, marker: str) -> list[str]:
    """The running containers whose command holds ``marker`` (ids)."""
    return [
        str(c.id)
        for c in docker_client.containers.list(ignore_removed=True)
        if marker in " ".join(c.attrs["Args"])
    ]


def test_sigkill_during_a_build_leaves_nothing_running(
    case: ImageCase, client: str, docker_client: Any
) -> None:
    """A SIGKILL cannot be passed on (Jenkins sends one after its grace): the docker CLI
    child dies with us, and the engine then stops the build and removes its container."""
    import contextlib
    import signal
    import threading
    import time
    import uuid

    import docker.errors

    marker = f"jb-killed-{uuid.uuid4().hex[:10]}"
    dockerfile = f"FROM {BASE_IMAGE}\nRUN echo {marker} && sleep 600\n"
    repository, descriptor = case.service(dockerfile)
    tmpdir = case.root / "tmp"
    tmpdir.mkdir()
    process = _start_cli(["image", "build", str(descriptor), "--no-cache"], tmpdir)
    assert process.stderr is not None
    started = threading.Event()
    lines: list[str] = []

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            if line.strip() == marker:  # the RUN step's own output: its container runs
                started.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    children: list[int] = []
    try:
        assert started.wait(60), "".join(lines)
        children = _children(process.pid)
        if client == "cli":
            assert children, "the docker CLI child was not found"
        deadline = time.monotonic() + 30
        while not _build_containers(docker_client, marker):  # the RUN step's container
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)

        process.kill()
        process.wait(timeout=30)

        deadline = time.monotonic() + 60
        while any(map(_running, children)) or _build_containers(docker_client, marker):
            left = [pid for pid in children if _running(pid)]
            assert time.monotonic() < deadline, (
                f"still running after our SIGKILL: children {left}, "
                f"containers {_build_containers(docker_client, marker)}"
            )
            time.sleep(0.2)
    finally:
        for pid in children:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        for container in _build_containers(docker_client, marker):
            with contextlib.suppress(docker.errors.NotFound):  # the engine removed it first
                docker_client.api.remove_container(container, force=True)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not docker_client.images.list(name=repository)


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_docker_cli_builds_on_an_ssh_engine(
    services: Services,
    repositories: list[str],
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    docker_client: Any,
) -> None:
    """DOCKER_HOST=ssh://... reaches the CLI (the sshd of scripts/services.sh, its key through
    an ``ssh`` wrapper on PATH); a dead ssh engine is daemon-unreachable, one line."""
    ssh_config = Path("/tmp/jenkins-bridge-services/sshd/ssh_config")
    if not ssh_config.is_file():
        pytest.fail(f"{ssh_config} missing: scripts/services.sh up starts the sshd")
    case = ImageCase(services, repositories, clean_env, tmp_path / "work", capsys)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {ssh_config} "$@"\n')
    (bin_dir / "ssh").chmod(0o755)
    clean_env.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    clean_env.setenv(IMAGE_CLIENT_VARIABLE, "cli")
    repository, descriptor = case.service()

    clean_env.setenv("DOCKER_HOST", "ssh://root@127.0.0.1:2222")
    code, out, err = case.cli("--output", "json", "image", "build", str(descriptor))
    assert code == 0, err
    assert json.loads(out)["data"]["reference"] == f"{repository}:{SHORT}"
    assert (
        docker_client.images.get(f"{repository}:{SHORT}").labels[
            "org.opencontainers.image.revision"
        ]
        == COMMIT
    )

    dead = f"ssh://root@127.0.0.1:{closed_port()}"
    clean_env.setenv("DOCKER_HOST", dead)
    code, out, err = case.cli("image", "build", str(descriptor))
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot reach the Docker engine at {dead}: ")
    assert err.count("\n") == 1
