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


def test_a_bad_build_arg_is_a_usage_error_before_any_build(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(image_build, "build_image", _fake_build(AssertionError("built")))
    for bad in ("NOEQUALS", "1X=y", "A-B=c", "=v"):
        result = cli("image", "build", "svc.yaml", "--build-arg", bad)
        assert result.exit_code == 1, bad
        assert f"--build-arg {bad!r} is not KEY=VALUE" in result.stderr
        assert "Traceback" not in result.stderr


def test_build_args_reach_the_build_last_one_winning(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    def build_image(*_: Any, **options: Any) -> ImageResult:
        seen.update(options)
        return BUILT

    monkeypatch.setattr(image_build, "build_image", build_image)
    args = ("--build-arg", "A=1", "--build-arg", "B=x=y", "--build-arg", "A=2")
    assert cli("image", "build", "svc.yaml", *args).exit_code == 0
    assert seen["build_args"] == {"A": "2", "B": "x=y"}
