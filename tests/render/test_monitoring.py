"""The monitoring renderers as plain functions: which rules exist for which objectives, what
the Alertmanager route and the dashboard hold, and that values stay data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from jenkins_bridge.descriptor import load_services
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.output.run import render_run
from jenkins_bridge.render.artifacts import render_folders, render_service
from jenkins_bridge.render.monitoring.grafana import dashboard_model
from jenkins_bridge.render.monitoring.rules import alert_rules, repository_runbook

HEAD = """apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: %(name)s, team: shop}
source: {repo: "%(repo)s"}
image: {repository: registry.example.com/shop/%(name)s}
deploy:
  - {environment: staging, target: docker, listen: "127.0.0.1:18080"}
  - {environment: production, target: swarm, listen: "0.0.0.0:18443"}
"""


def _service(tmp_path: Path, monitoring: str = "", name: str = "web", **extra: str) -> Service:
    values = {"name": name, "repo": "https://git.example.com/shop/web.git", **extra}
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEAD % values + monitoring, encoding="utf-8")
    return load_services([path])[0]


def _files(service: Service) -> dict[str, str]:
    artifacts = [*render_service(service, None), *render_folders([service.metadata.team], None)]
    return {a.path: a.text for a in artifacts}


def test_without_objectives_only_down_and_restarting_alerts(tmp_path: Path) -> None:
    service = _service(tmp_path)
    assert [r.alert for r in alert_rules(service)] == [
        "ServiceTargetDown",
        "ServiceContainerRestarting",
    ]
    rules = yaml.safe_load(_files(service)["shop/web/monitoring/rules.yml"])
    # without an objective, no ratio rules: the per-track rates only
    assert [g["name"] for g in rules["groups"]] == ["shop/web:tracks", "shop/web:alerts"]
    assert rules["groups"][0]["interval"] == "15s"
    assert [r["record"] for r in rules["groups"][0]["rules"]] == [
        "service_track:http_requests:rate1m",
        "service_track:http_request_errors:rate1m",
        "service_track:http_request_duration_seconds_bucket:rate1m",
    ]


def test_per_track_rates_keep_the_track_over_at_least_four_scrapes(tmp_path: Path) -> None:
    service = _service(tmp_path, "monitoring: {scrapeIntervalSeconds: 30}\n")
    rules = yaml.safe_load(_files(service)["shop/web/monitoring/rules.yml"])
    (tracks,) = [g for g in rules["groups"] if g["name"] == "shop/web:tracks"]
    assert tracks["interval"] == "30s"  # what the analysis multiplies its sums by
    recorded = {r["record"]: r["expr"] for r in tracks["rules"]}
    assert set(recorded) == {
        "service_track:http_requests:rate2m",
        "service_track:http_request_errors:rate2m",
        "service_track:http_request_duration_seconds_bucket:rate2m",
    }
    for expr in recorded.values():
        assert "sum by (team, service, environment, track" in expr and "[2m]" in expr
    assert "le)" in recorded["service_track:http_request_duration_seconds_bucket:rate2m"]


def test_objectives_add_burn_rate_and_latency_alerts(tmp_path: Path) -> None:
    service = _service(tmp_path, "monitoring: {slo: {availability: 99.5, latencyP95Ms: 250}}\n")
    rules = {r.alert: r for r in alert_rules(service)}
    assert set(rules) == {
        "ServiceErrorBudgetBurnFast",
        "ServiceErrorBudgetBurnSlow",
        "ServiceLatencyP95High",
        "ServiceTargetDown",
        "ServiceContainerRestarting",
    }
    assert "(14.4 * 0.005)" in rules["ServiceErrorBudgetBurnFast"].expr
    assert "(1 * 0.005)" in rules["ServiceErrorBudgetBurnSlow"].expr
    assert rules["ServiceLatencyP95High"].expr.endswith("> 0.25")
    for rule in rules.values():
        assert rule.labels["team"] == "shop"
        assert rule.labels["severity"] in ("critical", "warning")
        assert rule.summary and rule.description and rule.runbook_url.startswith("https://")


def test_a_loose_objective_has_no_alert_that_could_never_fire(tmp_path: Path) -> None:
    # With 80% availability the budget is 0.2: 14.4x and 6x of it exceed a ratio of 1.
    service = _service(tmp_path, "monitoring: {slo: {availability: 80}}\n")
    fast = [r for r in alert_rules(service) if r.alert == "ServiceErrorBudgetBurnFast"]
    assert fast == []
    slow = next(r for r in alert_rules(service) if r.alert == "ServiceErrorBudgetBurnSlow")
    assert "(3 * 0.2)" in slow.expr and "(1 * 0.2)" in slow.expr


def test_scrape_config_per_environment(tmp_path: Path) -> None:
    service = _service(tmp_path, "monitoring: {metricsPath: /internal/metrics}\n")
    files = _files(service)
    staging = yaml.safe_load(files["shop/web/monitoring/prometheus-staging.yml"])
    (job,) = staging["scrape_configs"]
    assert job["metrics_path"] == "/internal/metrics"
    assert job["static_configs"] == [
        {
            "targets": ["127.0.0.1:18080"],
            "labels": {"team": "shop", "service": "web", "environment": "staging"},
        }
    ]
    assert staging["rule_files"] == ["rules.yml"]
    production = yaml.safe_load(files["shop/web/monitoring/prometheus-production.yml"])
    (job,) = production["scrape_configs"]
    # the tasks of the Swarm service deploy creates, on the app's port (the overlay's)
    name = ObjectNames.of("shop", "web", "production").base
    assert job["dns_sd_configs"] == [{"names": [f"tasks.{name}"], "type": "A", "port": 8080}]
    replaced = {r["target_label"]: r["replacement"] for r in job["relabel_configs"]}
    assert replaced == {"team": "shop", "service": "web", "environment": "production"}


def test_services_without_deploy_get_no_monitoring(tmp_path: Path) -> None:
    path = tmp_path / "lib.yaml"
    path.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: lib, team: shop}\n"
        "source: {repo: https://git.example.com/shop/lib.git}\n",
        encoding="utf-8",
    )
    files = _files(load_services([path])[0])
    assert sorted(files) == ["shop/folder.xml", "shop/lib/Jenkinsfile", "shop/lib/config.xml"]


def test_team_route_names_each_service_and_its_declared_receiver(tmp_path: Path) -> None:
    (tmp_path / "_defaults.yaml").write_text(
        "monitoring:\n  alerts:\n    receivers:\n"
        "      oncall: {webhook: 'https://pager.example.com/x'}\n"
        "      tickets: {email: shop@example.com}\n",
        encoding="utf-8",
    )
    for name, notify in (("web", "oncall"), ("api", "tickets"), ("cron", None)):
        alerts = f"monitoring: {{alerts: {{notify: {notify}}}}}\n" if notify else ""
        (tmp_path / f"{name}.yaml").write_text(
            HEAD % {"name": name, "repo": "git@git.example.com:shop/x.git"} + alerts,
            encoding="utf-8",
        )
    tree = render_run([tmp_path]).tree
    route = yaml.safe_load(tree.artifacts["shop/alertmanager.yml"].text)
    (team,) = route["routes"]
    assert team["matchers"] == ['team="shop"']
    assert team["routes"] == [
        {"matchers": ['service="api"'], "receiver": "shop/tickets"},
        {"matchers": ['service="web"'], "receiver": "shop/oncall"},
    ]
    assert route["receivers"] == [
        {
            "name": "shop/oncall",
            "webhook_configs": [{"url": "https://pager.example.com/x", "send_resolved": True}],
        },
        {
            "name": "shop/tickets",
            "email_configs": [{"to": "shop@example.com", "send_resolved": True}],
        },
    ]


def test_runbook_urls_are_web_pages_and_never_template_code(tmp_path: Path) -> None:
    assert repository_runbook(_service(tmp_path, repo="git@git.example.com:shop/web.git")) == (
        "https://git.example.com/shop/web/blob/main/RUNBOOK.md"
    )
    assert repository_runbook(
        _service(tmp_path, repo="ssh://git@git.example.com:2222/shop/web.git")
    ) == ("https://git.example.com/shop/web/blob/main/RUNBOOK.md")
    service = _service(
        tmp_path, "monitoring: {alerts: {runbookUrl: 'https://wiki.example.com/{{.x}}'}}\n"
    )
    for rule in alert_rules(service):
        assert "{" not in rule.runbook_url, rule.runbook_url
        assert rule.runbook_url.startswith("https://wiki.example.com/%7B%7B")


def test_dashboard_is_the_typed_model_encoded(tmp_path: Path) -> None:
    from grafana_foundation_sdk.models.dashboard import Dashboard

    service = _service(tmp_path, "monitoring: {slo: {availability: 99.9, latencyP95Ms: 300}}\n")
    text = _files(service)["shop/web/monitoring/dashboard.json"]
    data: dict[str, Any] = json.loads(text)
    assert [p["title"] for p in data["panels"]] == [
        "Up",
        "Request rate",
        "Error ratio (5xx)",
        "Latency",
        "Request rate by version (stable, canary)",
        "Error ratio (5xx) by version",
        "Latency p95 by version",
        "Restarts",
    ]
    # the two versions side by side: each track-panel groups by environment and track, from
    # the per-track recording rules
    for panel in data["panels"][4:7]:
        (target,) = panel["targets"]
        assert "by (environment, track, version" in target["expr"], target["expr"]
        assert "service_track:" in target["expr"] and "[" not in target["expr"]
        assert target["legendFormat"] == "{{environment}} {{track}} {{version}}"
    assert [t["legendFormat"] for t in data["panels"][3]["targets"]] == [
        "p50 {{environment}}",
        "p95 {{environment}}",
        "p99 {{environment}}",
    ]
    assert data["annotations"]["list"][0]["name"] == "Deploys and restarts"
    steps = data["annotations"]["list"][1]
    assert steps["name"] == "Canary steps" and 'track="canary"' in steps["expr"]
    assert data["uid"] == dashboard_model(service).uid
    # It reads back into the SDK's model and encodes to the same JSON: nothing hand-written.
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    again = json.dumps(Dashboard.from_json(data), cls=JSONEncoder, indent=2, sort_keys=True)
    assert again + "\n" == text


def test_the_cli_starts_without_the_grafana_sdk() -> None:
    code = "import sys, jenkins_bridge.cli; print('grafana_foundation_sdk' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
