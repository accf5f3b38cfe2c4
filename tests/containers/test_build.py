"""containers.build without an engine: results, credentials and the secret refusal."""

from __future__ import annotations

import pytest

from jenkins_bridge.containers.build import ImageResult, refuse_secrets, registry_credentials
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
