"""Monitoring generated from the descriptor: Prometheus scrape configs, alerting and recording
rules with their own ``promtool`` tests, a Grafana dashboard per service and an Alertmanager
route per team. Pure text, like the rest of ``render``."""

from __future__ import annotations

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.render.monitoring.grafana import render_dashboard
from jenkins_bridge.render.monitoring.rule_tests import render_rule_tests
from jenkins_bridge.render.monitoring.rules import render_rules
from jenkins_bridge.render.monitoring.scrape import RULES_FILE, render_scrape_config

FOLDER = "monitoring"


def is_monitored(service: Service) -> bool:
    """Services that deploy somewhere have something to watch."""
    return bool(service.deploy)


def render_monitoring(service: Service) -> list[tuple[str, str, str]]:
    """(file name under ``<team>/<name>/monitoring/``, kind, text) of one service."""
    files = [
        (
            f"prometheus-{stage.environment}.yml",
            "prometheus-config",
            render_scrape_config(service, stage),
        )
        for stage in service.deploy
    ]
    files.append((RULES_FILE, "prometheus-rules", render_rules(service)))
    files.append(
        (
            "rules.test.yml",
            "prometheus-rule-tests",
            render_rule_tests(service, service.deploy[0].environment),
        )
    )
    files.append(("dashboard.json", "grafana-dashboard", render_dashboard(service)))
    return files
