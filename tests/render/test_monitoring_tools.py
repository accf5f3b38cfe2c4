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
    if any("kubernetes_sd_configs" in (folder / c).read_text() for c in configs):
        # Debian's promtool (2.42.0+ds) is built without the Kubernetes service discovery.
        pytest.skip("this promtool cannot parse kubernetes_sd_configs (Debian build)")
    result = _run(
        _tool("promtool"), "check", "config", "--lint=all", "--lint-fatal", *configs, cwd=folder
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Each breakage of a rule, by name: the text of rules.yml it replaces, and with what.
MUTATIONS = {
    "target down never fires": ("== 0", "== 2"),
    "restarts counted wrongly": ("[15m]) > 2", "[15m]) > 200"),
    "latency objective ignored": ("> 0.3\n", "> 30\n"),
    "fast burn alert fires too early": ("(14.4 * 0.001)", "(0 * 0.001)"),
    "slow burn threshold loosened": ("(1 * 0.001)", "(9 * 0.001)"),
    "six-hour page threshold loosened": ("(6 * 0.001)", "(60 * 0.001)"),
    "pages at a ticket's pace": ("(6 * 0.001)", "(4 * 0.001)"),
    "per-track requests lose the track": (
        'environment, track, version) (rate(http_requests_total{team="payments",service="payments',
        'environment, version) (rate(http_requests_total{team="payments",service="payments',
    ),
    # a promoted canary beside the next one on a Docker host: the same track, two versions
    "per-track requests lose the version": (
        'environment, track, version) (rate(http_requests_total{team="payments",service="payments',
        'environment, track) (rate(http_requests_total{team="payments",service="payments',
    ),
    "per-track errors count every request": ('api",code=~"5.."}[1m]))', 'api"}[1m]))'),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_rule_tests_catch_a_broken_rule(mutation: str, tmp_path: Path) -> None:
    """The generated tests are not vacuous: each breakage of a rule fails them."""
    before, after = MUTATIONS[mutation]
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


@pytest.mark.parametrize(
    ("availability", "latency_ms"),
    [(0.001, 1), (50, 7), (80, 250), (93.1, 1000), (99, 300), (99.95, 99), (99.9999, 600000)],
)
def test_rules_and_their_tests_hold_across_objectives(
    availability: float, latency_ms: int, tmp_path: Path
) -> None:
    """Loose and tight objectives alike: the rules lint clean and their generated tests pass
    (window pairs a loose budget cannot reach are left out rather than never firing)."""
    from jenkins_bridge.descriptor import load_services
    from jenkins_bridge.render.monitoring import render_monitoring

    descriptor = tmp_path / "svc.yaml"
    descriptor.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: svc, team: t}\n"
        "source: {repo: https://git.example.com/t/svc.git}\n"
        "image: {repository: registry.example.com/t/svc}\ndeploy: [{environment: prod}]\n"
        f"monitoring: {{slo: {{availability: {availability}, latencyP95Ms: {latency_ms}}}}}\n",
        encoding="utf-8",
    )
    (service,) = load_services([descriptor])
    for name, _, text in render_monitoring(service):
        (tmp_path / name).write_text(text, encoding="utf-8")
    promtool = _tool("promtool")
    checked = _run(
        promtool, "check", "rules", "--lint=all", "--lint-fatal", "rules.yml", cwd=tmp_path
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = _run(promtool, "test", "rules", "rules.test.yml", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
