"""cli/image.py turns containers.build's typed results into the envelope (no engine needed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import CliResult

from jenkins_bridge.containers import build as image_build
from jenkins_bridge.containers.build import ImageBuildInterrupted, ImageResult

BUILT = ImageResult(
    "127.0.0.1:5000/team/app",
    ("abc1234", "main-7"),
    {"org.opencontainers.image.title": "app", "a": "first"},
    "sha256:" + "1" * 64,
)


def _fake_build(outcome: ImageResult | BaseException) -> Callable[..., ImageResult]:
    def build_image(*_: Any, **__: Any) -> ImageResult:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return build_image


def test_built_image_envelope(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_build, "build_image", _fake_build(BUILT))
    text = cli("image", "build", "svc.yaml")
    assert text.exit_code == 0 and text.stdout == "127.0.0.1:5000/team/app:abc1234\n"
    envelope = cli("--output", "json", "image", "build", "svc.yaml").json()
    assert envelope["status"] == "built"
    assert envelope["data"] == {
        "reference": "127.0.0.1:5000/team/app:abc1234",
        "repository": "127.0.0.1:5000/team/app",
        "digest": None,
        "image_id": "sha256:" + "1" * 64,
        "tags": ["abc1234", "main-7"],
        "labels": {"a": "first", "org.opencontainers.image.title": "app"},
        "pushed": False,
    }
    assert list(envelope["data"]["labels"]) == ["a", "org.opencontainers.image.title"]


def test_ctrl_c_after_the_build_reports_the_built_image(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_build, "build_image", _fake_build(ImageBuildInterrupted(BUILT)))
    result = cli("--output", "json", "image", "build", "svc.yaml", "--push")
    assert result.exit_code == 130
    envelope = result.json()
    assert envelope["status"] == "interrupted"
    assert envelope["data"]["built"]["reference"] == "127.0.0.1:5000/team/app:abc1234"
    assert envelope["data"]["built"]["pushed"] is False
    text = cli("image", "build", "svc.yaml", "--push")
    assert "image build interrupted" in text.stderr and "done before that: built" in text.stderr


def test_ctrl_c_before_the_build_finished_reports_nothing_done(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_build, "build_image", _fake_build(ImageBuildInterrupted(None)))
    envelope = cli("--output", "json", "image", "build", "svc.yaml").json()
    assert envelope["status"] == "interrupted" and envelope["data"] == {}
