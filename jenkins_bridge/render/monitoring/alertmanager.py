"""The Alertmanager route of one team: a sub-route matching ``team`` with one child per
service that names a receiver, and the receivers those services use. Merge it into the main
configuration: its ``routes`` under the root route's ``routes``, its ``receivers`` beside the
others. Receivers are named ``<team>/<receiver>`` so teams cannot take each other's names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jenkins_bridge.descriptor.model import Receiver, Service
from jenkins_bridge.render.monitoring.yaml_text import generated_header, label_matchers, yaml_text


@dataclass(frozen=True, slots=True)
class AlertRouting:
    """What one service adds to its team's route (small, so worker processes return it)."""

    team: str
    service: str
    receiver: Receiver
    origin: str


def alert_routing(service: Service) -> AlertRouting | None:
    notify = service.monitoring.alerts_notify
    if notify is None or not service.deploy:
        return None
    receiver = next(r for r in service.monitoring.receivers if r.name == notify)
    return AlertRouting(service.metadata.team, service.metadata.name, receiver, service.origin)


def receiver_name(team: str, receiver: str) -> str:
    return f"{team}/{receiver}"


def _receiver(team: str, receiver: Receiver) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": receiver_name(team, receiver.name)}
    if receiver.email is not None:
        entry["email_configs"] = [{"to": receiver.email, "send_resolved": True}]
    if receiver.webhook is not None:
        entry["webhook_configs"] = [{"url": receiver.webhook, "send_resolved": True}]
    return entry


def render_team_route(team: str, routings: Iterable[AlertRouting]) -> str:
    """``<team>/alertmanager.yml`` for the services of ``team`` that route their alerts.

    Services are taken in name order. Loading refuses a team whose services declare one
    receiver name differently (``check_team_receivers``), so each name has one definition."""
    ordered = sorted(routings, key=lambda r: r.service)
    receivers: dict[str, Receiver] = {}
    for routing in ordered:
        receivers.setdefault(routing.receiver.name, routing.receiver)
    config = {
        "routes": [
            {
                "matchers": [label_matchers({"team": team})],
                "group_by": ["alertname", "service", "environment"],
                "routes": [
                    {
                        "matchers": [label_matchers({"service": r.service})],
                        "receiver": receiver_name(team, r.receiver.name),
                    }
                    for r in ordered
                ],
            }
        ],
        "receivers": [_receiver(team, receivers[name]) for name in sorted(receivers)],
    }
    origins = ", ".join(sorted({r.origin for r in ordered}))
    return generated_header(origins) + yaml_text(config)
