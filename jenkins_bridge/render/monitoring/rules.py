"""Prometheus alerting and recording rules of one service, from ``monitoring.slo``.

Multi-window, multi-burn-rate availability alerts as in the Google SRE workbook (chapter
"Alerting on SLOs"): page when 2% of a 30-day error budget burns in an hour or 5% in six
hours, open a ticket when 10% burns in three days. The error ratios are recording rules, so
each alert reads a handful of precomputed series. Plus p95 latency, target down and
container restarting. The metrics a service exports are the usual client-library names:
``http_requests_total{code}``, ``http_request_duration_seconds_bucket``, ``up`` and
``process_start_time_seconds``.

A Kubernetes series also carries ``track`` (``stable`` or ``canary``: the scrape config sets
it from the pod label; a canary's pods never become stable ones), a Docker host's ``version``
(the deploy's seq from the container label: a container's labels never change, so a promoted
canary would still say ``canary``, while its seq stays true). A second set of recording rules
keeps both: request, 5xx and latency-bucket rates per track and version, which a canary's
analysis (``deploy/canary``) and the dashboard's side-by-side panels compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.render.monitoring.yaml_text import (
    generated_header,
    label_matchers,
    yaml_text,
)

AGGREGATION = "team, service, environment"
RATIO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
ERROR_RATIO = "service:http_request_errors:ratio_rate{window}"
LATENCY_P95 = "service:http_request_duration_seconds:p95_rate5m"
# The track label of a Kubernetes series, and its values.
TRACK = "track"
STABLE, CANARY = "stable", "canary"
# The version label of a Docker host's series: the deploy's seq of the container it came from.
VERSION = "version"
TRACK_AGGREGATION = f"{AGGREGATION}, {TRACK}, {VERSION}"
TRACK_REQUESTS = "service_track:http_requests:rate{window}"
TRACK_ERRORS = "service_track:http_request_errors:rate{window}"
TRACK_BUCKETS = "service_track:http_request_duration_seconds_bucket:rate{window}"


@dataclass(frozen=True, slots=True)
class BurnWindow:
    """Alert when the error ratio exceeds ``factor`` times the budget over both windows."""

    factor: Decimal
    long: str
    short: str


@dataclass(frozen=True, slots=True)
class RecordingRule:
    record: str
    expr: str


@dataclass(frozen=True, slots=True)
class AlertRule:
    alert: str
    expr: str
    for_: str  # a Prometheus duration; "0s" fires at once
    labels: dict[str, str]
    summary: str  # may hold {{ $labels.environment }}
    description: str
    runbook_url: str


PAGE = (BurnWindow(Decimal("14.4"), "1h", "5m"), BurnWindow(Decimal(6), "6h", "30m"))
TICKET = (BurnWindow(Decimal(3), "1d", "2h"), BurnWindow(Decimal(1), "3d", "6h"))
ENVIRONMENT = "{{ $labels.environment }}"


def error_budget(service: Service) -> Decimal | None:
    """The allowed error ratio, exactly (99.9 -> 0.001), or None without an objective."""
    availability = service.monitoring.slo.availability
    if availability is None:
        return None
    return (Decimal(100) - Decimal(str(availability))) / Decimal(100)


def number(value: Decimal) -> str:
    """A decimal as PromQL and YAML read it, without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def selector(service: Service, **extra: str) -> str:
    labels = {"team": service.metadata.team, "service": service.metadata.name, **extra}
    return "{" + label_matchers(labels) + "}"


def usable_windows(windows: tuple[BurnWindow, ...], budget: Decimal) -> tuple[BurnWindow, ...]:
    """The window pairs whose threshold an error ratio can reach (it is at most 1): with a
    loose objective a fast burn is impossible, and an alert that can never fire is noise."""
    return tuple(w for w in windows if w.factor * budget < 1)


def runbook(service: Service, alert: str) -> str:
    """The ``runbook_url`` of an alert. Annotations are Go templates, so braces are
    percent-encoded: a URL is data, never template code."""
    base = service.monitoring.runbook_url or repository_runbook(service)
    url = f"{base}#{alert.lower()}"
    return url.replace("{", "%7B").replace("}", "%7D")


def repository_runbook(service: Service) -> str:
    """``RUNBOOK.md`` on the deploy branch, in the web view of the service repository
    (``https://host/path/blob/<branch>/RUNBOOK.md``, the form GitHub, GitLab and Gitea share).
    """
    repo = service.source.repo
    if "://" in repo:
        parts = urlsplit(repo)
        host, path = parts.hostname or "", parts.path
        if parts.scheme in ("http", "https") and parts.port is not None:
            host = f"{host}:{parts.port}"  # a web server's own port; an ssh port is not one
    else:  # scp-like [user@]host:path
        host, _, path = repo.rpartition("@")[2].partition(":")
    path = path.strip("/").removesuffix(".git")
    scheme = "http" if repo.startswith("http://") else "https"
    page = quote(f"{path}/blob/{service.source.branch}/RUNBOOK.md", safe="/")
    return f"{scheme}://{host}/{page}"


def track_window(service: Service) -> str:
    """The rate window of the per-track rules: at least four scrapes (a rate needs two
    samples, four keep one missed scrape from emptying it), at least a minute."""
    seconds = max(60, 4 * service.monitoring.scrape_interval_seconds)
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def track_rule_names(service: Service) -> tuple[str, str, str]:
    """The per-track recording rules: (requests, 5xx, latency buckets), each a rate per
    second over ``track_window``, evaluated every ``scrapeIntervalSeconds`` (their group's
    own interval): the sum of a rule's samples over a window times that interval is the
    requests in the window, even when the track existed for part of it only."""
    window = track_window(service)
    return (
        TRACK_REQUESTS.format(window=window),
        TRACK_ERRORS.format(window=window),
        TRACK_BUCKETS.format(window=window),
    )


def track_recording_rules(service: Service) -> list[RecordingRule]:
    """Request, 5xx and latency-bucket rates by track and version (not only by environment):
    what a canary's analysis and the dashboard compare between the two versions."""
    window = track_window(service)
    requests, errors_name, buckets = track_rule_names(service)
    errors = selector(service, code="5..").replace('code="5.."', 'code=~"5.."')
    own = selector(service)
    return [
        RecordingRule(
            requests,
            f"sum by ({TRACK_AGGREGATION}) (rate(http_requests_total{own}[{window}]))",
        ),
        RecordingRule(
            errors_name,
            f"sum by ({TRACK_AGGREGATION}) (rate(http_requests_total{errors}[{window}]))",
        ),
        RecordingRule(
            buckets,
            f"sum by ({TRACK_AGGREGATION}, le) "
            f"(rate(http_request_duration_seconds_bucket{own}[{window}]))",
        ),
    ]


def recording_rules(service: Service) -> list[RecordingRule]:
    rules = []
    if service.monitoring.slo.availability is not None:
        errors = selector(service, code="5..").replace('code="5.."', 'code=~"5.."')
        total = selector(service)
        for window in RATIO_WINDOWS:
            rules.append(
                RecordingRule(
                    ERROR_RATIO.format(window=window),
                    f"sum by ({AGGREGATION}) (rate(http_requests_total{errors}[{window}]))\n"
                    f"/\nsum by ({AGGREGATION}) (rate(http_requests_total{total}[{window}]))",
                )
            )
    if service.monitoring.slo.latency_p95_ms is not None:
        rules.append(
            RecordingRule(
                LATENCY_P95,
                f"histogram_quantile(0.95, sum by ({AGGREGATION}, le) "
                f"(rate(http_request_duration_seconds_bucket{selector(service)}[5m])))",
            )
        )
    return rules


def _burn_expr(service: Service, windows: tuple[BurnWindow, ...], budget: Decimal) -> str:
    own = selector(service)
    clauses = []
    for window in windows:
        threshold = f"({number(window.factor)} * {number(budget)})"
        long = ERROR_RATIO.format(window=window.long)
        short = ERROR_RATIO.format(window=window.short)
        clauses.append(f"({long}{own} > {threshold}\nand\n{short}{own} > {threshold})")
    return "\nor\n".join(clauses)


def alert_rules(service: Service) -> list[AlertRule]:
    name = service.full_name
    team = service.metadata.team
    notify = service.monitoring.alerts_notify
    routed = f" Alerts go to {notify}." if notify else ""
    rules = []
    budget = error_budget(service)
    if budget is not None:
        objective = f"{service.monitoring.slo.availability}%"
        for alert, severity, windows, pace in (
            (
                "ServiceErrorBudgetBurnFast",
                "critical",
                PAGE,
                "2% of a 30-day budget within an hour or 5% within six hours",
            ),
            (
                "ServiceErrorBudgetBurnSlow",
                "warning",
                TICKET,
                "10% of a 30-day budget within one to three days",
            ),
        ):
            usable = usable_windows(windows, budget)
            if not usable:
                continue
            rules.append(
                AlertRule(
                    alert,
                    _burn_expr(service, usable, budget),
                    "2m" if severity == "critical" else "15m",
                    {"severity": severity, "team": team},
                    f"{name} is burning its error budget in {ENVIRONMENT}",
                    f"The 5xx ratio of {name} in {ENVIRONMENT} spends the error budget of "
                    f"its {objective} availability objective at a pace that uses {pace}."
                    f"{routed}",
                    runbook(service, alert),
                )
            )
    latency = service.monitoring.slo.latency_p95_ms
    if latency is not None:
        seconds = number(Decimal(latency) / 1000)
        rules.append(
            AlertRule(
                "ServiceLatencyP95High",
                f"{LATENCY_P95}{selector(service)} > {seconds}",
                "10m",
                {"severity": "warning", "team": team},
                f"{name} p95 latency is over {latency} ms in {ENVIRONMENT}",
                f"The 95th percentile of request duration of {name} in {ENVIRONMENT} has "
                f"been above its {latency} ms objective for 10 minutes.{routed}",
                runbook(service, "ServiceLatencyP95High"),
            )
        )
    rules.append(
        AlertRule(
            "ServiceTargetDown",
            f"up{selector(service)} == 0",
            "2m",
            {"severity": "critical", "team": team},
            f"{name} is down in {ENVIRONMENT}",
            f"Prometheus could not scrape {name} in {ENVIRONMENT} "
            f"({{{{ $labels.instance }}}}) for 2 minutes.{routed}",
            runbook(service, "ServiceTargetDown"),
        )
    )
    rules.append(
        AlertRule(
            "ServiceContainerRestarting",
            f"changes(process_start_time_seconds{selector(service)}[15m]) > 2",
            "0s",
            {"severity": "warning", "team": team},
            f"{name} keeps restarting in {ENVIRONMENT}",
            f"{name} in {ENVIRONMENT} ({{{{ $labels.instance }}}}) started more than 2 "
            f"times in 15 minutes.{routed}",
            runbook(service, "ServiceContainerRestarting"),
        )
    )
    return rules


def group_name(service: Service, kind: str) -> str:
    return f"{service.full_name}:{kind}"


def render_rules(service: Service) -> str:
    """``rules.yml``: a recording group (when there is an objective), the per-track group
    (at the scrape interval, which a canary's analysis counts with) and an alerting group."""
    groups: list[dict[str, Any]] = []
    recording = recording_rules(service)
    if recording:
        groups.append(
            {
                "name": group_name(service, "recording"),
                "rules": [{"record": r.record, "expr": r.expr} for r in recording],
            }
        )
    groups.append(
        {
            "name": group_name(service, "tracks"),
            "interval": f"{service.monitoring.scrape_interval_seconds}s",
            "rules": [{"record": r.record, "expr": r.expr} for r in track_recording_rules(service)],
        }
    )
    alerts = []
    for rule in alert_rules(service):
        entry: dict[str, Any] = {"alert": rule.alert, "expr": rule.expr}
        if rule.for_ != "0s":
            entry["for"] = rule.for_
        entry["labels"] = rule.labels
        entry["annotations"] = {
            "summary": rule.summary,
            "description": rule.description,
            "runbook_url": rule.runbook_url,
        }
        alerts.append(entry)
    groups.append({"name": group_name(service, "alerts"), "rules": alerts})
    return generated_header(service.origin) + yaml_text({"groups": groups})
