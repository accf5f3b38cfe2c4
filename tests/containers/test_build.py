"""containers.build without an engine: results, credentials and the secret refusal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jenkins_bridge.containers import build as image_build
from jenkins_bridge.containers.build import (
    ImageBuildInterrupted,
    ImageResult,
    build_image,
    refuse_secrets,
    registry_credentials,
)
from jenkins_bridge.containers.engine import BuildRequest, BuiltImage
from jenkins_bridge.containers.errors import SecretInBuildInput
from jenkins_bridge.errors import UsageError


def test_reference_is_the_digest_once_pushed_else_the_immutable_tag() -> None:
    built = ImageResult("127.0.0.1:5000/team/app", ("latest", "abc1234", "main-7"))
    assert built.reference == "127.0.0.1:5000/team/app:abc1234" and not built.pushed
    pushed = ImageResult("127.0.0.1:5000/team/app", ("abc1234",), digest="sha256:" + "0" * 64)
    assert pushed.reference == "127.0.0.1:5000/team/app@sha256:" + "0" * 64 and pushed.pushed


def test_registry_credentials_are_both_or_neither() -> None:
    assert registry_credentials({}) is None
    both = registry_credentials({"REGISTRY_USER": "u", "REGISTRY_PASSWORD": "p"})
    assert both is not None and both.username == "u" and "p" not in repr(both)
    with pytest.raises(UsageError, match="REGISTRY_PASSWORD is not set"):
        registry_credentials({"REGISTRY_USER": "u"})


def test_registry_password_in_a_build_input_is_refused() -> None:
    env = {"REGISTRY_PASSWORD": "hunter22"}
    refuse_secrets({"A": "x"}, {"org.opencontainers.image.title": "app"}, env)
    with pytest.raises(SecretInBuildInput, match=r"image\.buildArgs TOKEN"):
        refuse_secrets({"TOKEN": "pre-hunter22"}, {}, env)
    with pytest.raises(SecretInBuildInput, match="image label title"):
        refuse_secrets({}, {"title": "hunter22"}, env)
    refuse_secrets({"TOKEN": "hunter22"}, {}, {})  # no password set: nothing to look for


class _Engine:
    """Builds at once; a push is interrupted by Ctrl-C."""

    def __enter__(self) -> _Engine:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def build(self, request: BuildRequest, log: Callable[[str], None]) -> BuiltImage:
        log("Step 1/1 : FROM scratch")
        return BuiltImage("sha256:" + "2" * 64, request.repository, request.tags, {"x": "y"})

    def push(self, *_: object) -> None:
        raise KeyboardInterrupt


def test_ctrl_c_during_the_push_carries_the_built_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    descriptor = tmp_path / "service.yaml"
    descriptor.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        "metadata: {name: app, team: qa}\n"
        "source: {repo: 'https://git.example.com/qa/app.git'}\n"
        "image: {repository: '127.0.0.1:5000/qa/app'}\n"
    )
    monkeypatch.setattr(image_build, "connect_engine", lambda environ=None: _Engine())
    lines: list[str] = []
    with pytest.raises(ImageBuildInterrupted) as caught:
        build_image(
            descriptor,
            extra_tags=(),
            push=True,
            cache_from=(),
            no_cache=False,
            log=lines.append,
            environ={"GIT_COMMIT": "f" * 40},
        )
    built = caught.value.built
    assert built is not None and not built.pushed and lines == ["Step 1/1 : FROM scratch"]
    assert built.repository == "127.0.0.1:5000/qa/app" and "f" * 7 in built.tags[0]
