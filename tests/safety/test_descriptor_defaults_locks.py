"""Through the CLI: a team's locked defaults cannot be dodged by nesting a descriptor deeper,
by a nearer ``_defaults.yaml``, by moving it next door, or by naming the file alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CliResult

Cli = Callable[..., CliResult]


def descriptor(name: str, extra: str = "", team: str = "payments") -> str:
    return (
        "apiVersion: jenkins-bridge/v1\nkind: Service\n"
        f"metadata: {{name: {name}, team: {team}}}\n"
        "source: {repo: https://git.example.com/payments/api.git}\n" + extra
    )


LOCKS = "pipeline: {agent: hardened}\nlocked: [pipeline.agent]\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "payments").mkdir()
    (tmp_path / "payments" / "_defaults.yaml").write_text(LOCKS)
    (tmp_path / "payments" / "api.yaml").write_text(descriptor("api"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def put(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def refusal(cli: Cli) -> str:
    """What ``validate`` of the whole repository says; it must refuse it (exit 1)."""
    result = cli("validate", ".")
    assert result.exit_code == 1, result.stdout
    return result.stderr


def test_nesting_deeper_does_not_escape_a_lock(repo: Path, cli: Cli) -> None:
    put(repo, "payments/deep/er/web.yaml", descriptor("web", "pipeline: {agent: laptop}\n"))
    for given in (".", "payments", "payments/deep", "payments/deep/er/web.yaml"):
        result = cli("validate", given)
        assert result.exit_code == 1, given
        assert "web.yaml:5:12: pipeline.agent: is locked by " in result.stderr.replace(
            "payments/deep/er/", ""
        ), (given, result.stderr)
    result = cli("render", ".", "-o", "out")
    assert result.exit_code == 1 and not (repo / "out").exists()


def test_a_nearer_defaults_cannot_unlock(repo: Path, cli: Cli) -> None:
    put(repo, "payments/sub/_defaults.yaml", "pipeline: {agent: laptop}\nlocked: []\n")
    put(repo, "payments/sub/web.yaml", descriptor("web"))
    assert refusal(cli) == (
        "payments/sub/_defaults.yaml:1:12: pipeline.agent: is locked by "
        "payments/_defaults.yaml:2:10 and may not be overridden here\n"
        # and a team's services must all be governed by the same files, or moving one up a
        # folder would escape the locks payments/sub/_defaults.yaml adds:
        "payments/sub/web.yaml:3:29: metadata.team: team 'payments' is governed here by "
        "payments/_defaults.yaml and payments/sub/_defaults.yaml, but at payments/api.yaml:3 "
        "by payments/_defaults.yaml; keep a team's descriptors under the same _defaults.yaml\n"
    )


def test_moving_a_descriptor_next_door_is_an_error_naming_both(repo: Path, cli: Cli) -> None:
    put(repo, "elsewhere/web.yaml", descriptor("web", "pipeline: {agent: laptop}\n"))
    assert refusal(cli) == (
        "payments/api.yaml:3:29: metadata.team: team 'payments' is governed here by "
        "payments/_defaults.yaml, but at elsewhere/web.yaml:3 by no _defaults.yaml; "
        "keep a team's descriptors under the same _defaults.yaml\n"
    )
    as_json = cli("--output", "json", "render", ".", "-o", "out").json()
    assert as_json["status"] == "invalid" and as_json["errors"][0]["line"] == 3


def test_inherited_values_reach_the_generated_pipeline(repo: Path, cli: Cli) -> None:
    put(repo, "payments/deep/web.yaml", descriptor("web"))
    result = cli("render", ".", "-o", "out")
    assert result.exit_code == 0, result.stderr
    assert "label 'hardened'" in (repo / "out/payments/web/Jenkinsfile").read_text()
