"""provision.controller: which controller a run talks to, resolved from an explicit environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.errors import UsageError
from jenkins_bridge.provision.controller import Controller, config_path, resolve_controller


def test_url_and_credentials_from_the_environment() -> None:
    env = {"JENKINS_URL": "http://127.0.0.1:8080", "JENKINS_USER": "u", "JENKINS_TOKEN": "t"}
    assert resolve_controller(None, None, env) == Controller("http://127.0.0.1:8080", "u", "t")
    flag = resolve_controller("http://127.0.0.1:9090", None, env)
    assert flag.url == "http://127.0.0.1:9090"  # --jenkins wins over $JENKINS_URL
    assert resolve_controller("http://127.0.0.1:1", None, {}).token is None  # anonymous


def test_token_never_in_repr() -> None:
    controller = resolve_controller(
        "http://127.0.0.1:1", None, {"JENKINS_USER": "u", "JENKINS_TOKEN": "s3cr3t"}
    )
    assert "s3cr3t" not in repr(controller)


@pytest.mark.parametrize(
    ("jenkins", "controller", "env", "message"),
    [
        (None, None, {}, "no Jenkins controller given"),
        ("http://127.0.0.1:1", None, {"JENKINS_USER": "u"}, "$JENKINS_TOKEN is not set"),
        ("http://127.0.0.1:1", None, {"JENKINS_TOKEN": "t"}, "$JENKINS_USER is not set"),
        ("http://127.0.0.1:1", "local", {}, "either --jenkins or --controller"),
    ],
)
def test_usage_errors(
    jenkins: str | None, controller: str | None, env: dict[str, str], message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("$", r"\$")):
        resolve_controller(jenkins, controller, env)


def test_named_controller(tmp_path: Path) -> None:
    config = tmp_path / "controllers.yaml"
    config.write_text(
        "controllers:\n  local:\n    url: http://127.0.0.1:8080\n    user: ci\n"
        "    token_env: LOCAL_TOKEN\n"
    )
    env = {"JENKINS_BRIDGE_CONFIG": str(config), "LOCAL_TOKEN": "t"}
    assert resolve_controller(None, "local", env) == Controller(
        "http://127.0.0.1:8080", "ci", "t", "local"
    )
    with pytest.raises(UsageError, match=r"\$LOCAL_TOKEN is not set"):
        resolve_controller(None, "local", {"JENKINS_BRIDGE_CONFIG": str(config)})
    with pytest.raises(UsageError, match=r"no controller 'prod' .* \(known: local\)"):
        resolve_controller(None, "prod", env)
    config.write_text("local:\n  url: http://127.0.0.1:8080\n  token: t\n")
    with pytest.raises(UsageError, match="unknown keys: token"):
        resolve_controller(None, "local", env)


def test_config_path_follows_the_environment(tmp_path: Path) -> None:
    assert config_path({"JENKINS_BRIDGE_CONFIG": "/x/c.yaml"}) == Path("/x/c.yaml")
    expected = tmp_path / "jenkins-bridge" / "controllers.yaml"
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == expected
