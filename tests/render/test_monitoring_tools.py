"""The generated monitoring files as Prometheus and Alertmanager read them, for every golden
case: ``promtool check rules`` with lint problems fatal, ``promtool test rules`` on the
generated tests, ``promtool check config``, and ``amtool check-config`` on each team route
merged into a main configuration (Debian ``prometheus`` and ``prometheus-alertmanager``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import GOLDEN

pytestmark = pytest.mark.prometheus

MONITORING = sorted(GOLDEN.glob("*/expected/*/*/monitoring"))
ROUTES = sorted(GOLDEN.glob("*/expected/*/alertmanager.yml"))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run scripts/bootstrap.sh (Debian prometheus)")
    return found


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def _id(path: Path) -> str:
    return str(path.relative_to(GOLDEN))


def test_golden_cases_have_monitoring() -> None:
    assert MONITORING and ROUTES


@pytest.mark.parametrize("folder", MONITORING, ids=_id)
def test_rules_pass_promtool_check_with_lint_fatal(folder: Path) -> None:
    result = _run(
        _tool("promtool"), "check", "rules", "--lint=all", "--lint-fatal", "rules.yml", cwd=folder
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("folder", MONITORING, ids=_id)
def test_generated_rule_tests_pass(folder: Path) -> None:
    result = _run(_tool("promtool"), "test", "rules", "rules.test.yml", cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize("folder", MONITORING, ids=_id)
def test_scrape_configs_pass_promtool_check_config(folder: Path) -> None:
    configs = sorted(p.name for p in folder.glob("prometheus-*.yml"))
    assert configs
    result = _run(
        _tool("promtool"), "check", "config", "--lint=all", "--lint-fatal", *configs, cwd=folder
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("mutation", "before", "after"),
    [
        ("target down never fires", "== 0", "== 2"),
        ("restarts counted wrongly", "[15m]) > 2", "[15m]) > 200"),
        ("latency objective ignored", "> 0.3\n", "> 30\n"),
        ("fast burn alert fires too early", "(14.4 * 0.001)", "(0 * 0.001)"),
        ("slow burn threshold loosened", "(1 * 0.001)", "(9 * 0.001)"),
    ],
)
def test_the_rule_tests_catch_a_broken_rule(
    mutation: str, before: str, after: str, tmp_path: Path
) -> None:
    """The generated tests are not vacuous: each breakage of a rule fails them."""
    folder = GOLDEN / "full" / "expected" / "payments" / "payments-api" / "monitoring"
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    rules = tmp_path / "rules.yml"
    text = rules.read_text(encoding="utf-8")
    assert before in text, mutation
    rules.write_text(text.replace(before, after), encoding="utf-8")
    result = _run(_tool("promtool"), "test", "rules", "rules.test.yml", cwd=tmp_path)
    assert result.returncode != 0, f"{mutation}: {result.stdout}"


def _main_config(route: Path) -> dict[str, object]:
    """A main Alertmanager configuration with the team's route merged in, as a user would."""
    snippet = yaml.safe_load(route.read_text(encoding="utf-8"))
    return {
        "global": {"smtp_smarthost": "127.0.0.1:25", "smtp_from": "alerts@example.com"},
        "route": {"receiver": "default", "routes": snippet["routes"]},
        "receivers": [{"name": "default"}, *snippet["receivers"]],
    }


@pytest.mark.parametrize("route", ROUTES, ids=_id)
def test_team_routes_pass_amtool_check_config(route: Path, tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(_main_config(route)), encoding="utf-8")
    result = _run(_tool("amtool"), "check-config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_refuses_a_route_to_an_undeclared_receiver(tmp_path: Path) -> None:
    """The check above can fail: a route naming a receiver the snippet lacks is refused."""
    config = _main_config(ROUTES[0])
    config["receivers"] = [{"name": "default"}]
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = _run(_tool("amtool"), "check-config", str(path), cwd=tmp_path)
    assert result.returncode != 0
