"""The ``promtool test rules`` file of one service: for each generated alert, a series that
makes it fire (with the exact labels and annotations expected) and one that keeps it silent.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.render.monitoring.rules import (
    CANARY,
    PAGE,
    STABLE,
    TRACK,
    VERSION,
    AlertRule,
    alert_rules,
    error_budget,
    number,
    track_rule_names,
    track_window,
    usable_windows,
)
from jenkins_bridge.render.monitoring.scrape import RULES_FILE
from jenkins_bridge.render.monitoring.yaml_text import generated_header, promql_string, yaml_text

INSTANCE = "app-0:8080"
REQUESTS_PER_MINUTE = Decimal(100_000)


def _series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f"{k}={promql_string(v)}" for k, v in labels.items())
    return {"series": f"{metric}{{{inner}}}", "values": values}


def _expected(rule: AlertRule, labels: dict[str, str]) -> dict[str, Any]:
    environment = labels["environment"]

    def expand(text: str) -> str:
        text = text.replace("{{ $labels.environment }}", environment)
        return text.replace("{{ $labels.instance }}", labels.get("instance", ""))

    return {
        "exp_labels": {**labels, **rule.labels},
        "exp_annotations": {
            "summary": expand(rule.summary),
            "description": expand(rule.description),
            "runbook_url": rule.runbook_url,
        },
    }


def _case(
    name: str, series: list[dict[str, str]], checks: list[tuple[str, str, list[Any]]]
) -> dict[str, Any]:
    return {
        "name": name,
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": at, "alertname": alert, "exp_alerts": expected}
            for at, alert, expected in checks
        ],
    }


def _requests(scrape: dict[str, str], ratio: Decimal, minutes: int) -> list[dict[str, str]]:
    """Request counters whose 5xx share is ``ratio``, for ``minutes`` minutes."""
    errors = REQUESTS_PER_MINUTE * ratio
    good = REQUESTS_PER_MINUTE - errors
    return [
        _series("http_requests_total", {**scrape, "code": "500"}, f"0+{number(errors)}x{minutes}"),
        _series("http_requests_total", {**scrape, "code": "200"}, f"0+{number(good)}x{minutes}"),
    ]


_NamedSeries = tuple[str, list[dict[str, str]]]  # a case's name and its input series


def _fires_and_stays_silent(
    rule: AlertRule, at: str, labels: dict[str, str], firing: _NamedSeries, silent: _NamedSeries
) -> list[dict[str, Any]]:
    """Two cases: series that make ``rule`` fire at ``at`` (with ``labels``), and series that
    keep it silent."""
    return [
        _case(firing[0], firing[1], [(at, rule.alert, [_expected(rule, labels)])]),
        _case(silent[0], silent[1], [(at, rule.alert, [])]),
    ]


def rule_test_cases(service: Service, environment: str) -> list[dict[str, Any]]:
    labels = {"team": service.metadata.team, "service": service.metadata.name}
    aggregated = {**labels, "environment": environment}
    scrape = {"job": f"{service.full_name}/{environment}", "instance": INSTANCE, **aggregated}
    rules = {rule.alert: rule for rule in alert_rules(service)}
    cases = []
    budget = error_budget(service)
    if budget is not None:
        fast = rules.get("ServiceErrorBudgetBurnFast")
        slow = rules.get("ServiceErrorBudgetBurnSlow")
        if fast is not None:  # every request failing burns faster than any page threshold
            cases.append(
                _case(
                    "error budget: every request failing pages",
                    _requests(scrape, Decimal(1), 70),
                    [("10m", fast.alert, [_expected(fast, aggregated)])],
                )
            )
        usable_page = usable_windows(PAGE, budget)
        ten_times = budget * 10
        if fast is not None and len(usable_page) == len(PAGE) and ten_times < 1:
            # Between the two page thresholds (6x < 10x < 14.4x): only the 6h/30m pair fires.
            cases.append(
                _case(
                    "error budget: ten times the allowed ratio pages (6h and 30m windows)",
                    _requests(scrape, ten_times, 70),
                    [("40m", fast.alert, [_expected(fast, aggregated)])],
                )
            )
        five_times = budget * 5
        if fast is not None and slow is not None and five_times < 1:
            # Over every ticket threshold (3x, 1x), under every page threshold (6x, 14.4x).
            cases.append(
                _case(
                    "error budget: five times the allowed ratio opens a ticket, no page",
                    _requests(scrape, five_times, 130),
                    [
                        ("2h", slow.alert, [_expected(slow, aggregated)]),
                        ("2h", fast.alert, []),
                    ],
                )
            )
        if slow is not None:  # twice the budget: a ticket, too slow to page
            twice = min(budget * 2, Decimal(1))
            checks = [("2h", slow.alert, [_expected(slow, aggregated)])]
            if fast is not None and all(twice <= w.factor * budget for w in PAGE):
                checks.append(("2h", fast.alert, []))
            cases.append(
                _case(
                    "error budget: twice the allowed ratio opens a ticket",
                    _requests(scrape, twice, 130),
                    checks,
                )
            )
        silent: list[tuple[str, str, list[Any]]] = [
            ("2h", r.alert, []) for r in (fast, slow) if r is not None
        ]
        if silent:
            cases.append(
                _case(
                    "error budget: half the allowed ratio stays silent",
                    _requests(scrape, budget / 2, 130),
                    silent,
                )
            )
    latency = rules.get("ServiceLatencyP95High")
    if latency is not None and service.monitoring.slo.latency_p95_ms is not None:
        objective = Decimal(service.monitoring.slo.latency_p95_ms) / 1000
        buckets = (number(objective), number(objective * 2), "+Inf")

        def histogram(first_bucket: str) -> list[dict[str, str]]:
            values = (first_bucket, "0+100x30", "0+100x30")
            return [
                _series("http_request_duration_seconds_bucket", {**scrape, "le": le}, v)
                for le, v in zip(buckets, values, strict=True)
            ]

        cases += _fires_and_stays_silent(
            latency,
            "20m",
            aggregated,
            ("latency: requests slower than the objective", histogram("0x30")),
            ("latency: requests within the objective", histogram("0+100x30")),
        )
    cases += _fires_and_stays_silent(
        rules["ServiceTargetDown"],
        "6m",
        scrape,
        ("target down: scrapes failing", [_series("up", scrape, "1 1 0x10")]),
        ("target down: scrapes working", [_series("up", scrape, "1x10")]),
    )
    restarts = "process_start_time_seconds"
    cases += _fires_and_stays_silent(
        rules["ServiceContainerRestarting"],
        "16m",
        scrape,
        ("restarting: a new process every minute", [_series(restarts, scrape, "0+60x20")]),
        ("restarting: one long-running process", [_series(restarts, scrape, "100x20")]),
    )
    return cases


def track_test_case(service: Service, environment: str) -> dict[str, Any]:
    """The per-track rates keep the two versions apart: a stable and a canary pod (by track,
    Kubernetes), and a promoted canary beside the next one (two containers whose version
    differs, a Docker host), with different request, 5xx and latency rates give one sample
    of each rule per track and version."""
    aggregated = {
        "team": service.metadata.team,
        "service": service.metadata.name,
        "environment": environment,
    }
    requests, errors, buckets = track_rule_names(service)
    series: list[dict[str, str]] = []
    # per minute: stable 600 requests, 6 failing, all within 0.1 s; canary 60, 12 failing,
    # half of them within 0.1 s
    good, bad = (600, 6, 600), (60, 12, 30)
    shapes = [
        ({TRACK: STABLE}, good),
        ({TRACK: CANARY}, bad),
        ({VERSION: "000011"}, good),
        ({VERSION: "000012"}, bad),
    ]
    for replica, (own, (total, failing, fast)) in enumerate(shapes):
        scrape = {
            "job": f"{service.full_name}/{environment}",
            "instance": f"replica-{replica}:8080",
            **aggregated,
            **own,
        }
        series += [
            _series("http_requests_total", {**scrape, "code": "500"}, f"0+{failing}x30"),
            _series("http_requests_total", {**scrape, "code": "200"}, f"0+{total - failing}x30"),
            _series(
                "http_request_duration_seconds_bucket", {**scrape, "le": "0.1"}, f"0+{fast}x30"
            ),
            _series(
                "http_request_duration_seconds_bucket", {**scrape, "le": "+Inf"}, f"0+{total}x30"
            ),
        ]

    def sample(record: str, own: dict[str, str], value: Decimal, **extra: str) -> dict[str, Any]:
        labels = {**aggregated, **own, **extra}
        inner = ",".join(f"{k}={promql_string(v)}" for k, v in labels.items())
        return {"labels": f"{record}{{{inner}}}", "value": float(value)}

    minute = Decimal(60)
    checks = [
        (requests, [sample(requests, o, Decimal(s[0]) / minute) for o, s in shapes]),
        (errors, [sample(errors, o, Decimal(s[1]) / minute) for o, s in shapes]),
        (
            f'{buckets}{{le="0.1"}}',
            [sample(buckets, o, Decimal(s[2]) / minute, le="0.1") for o, s in shapes],
        ),
    ]
    return {
        "name": (
            f"per-track rates over {track_window(service)} keep stable and canary apart, "
            "by track and by version"
        ),
        "interval": "1m",
        "input_series": series,
        "promql_expr_test": [
            {"expr": expr, "eval_time": "20m", "exp_samples": expected} for expr, expected in checks
        ],
    }


def render_rule_tests(service: Service, environment: str) -> str:
    """``rules.test.yml``, for ``promtool test rules`` beside ``rules.yml``."""
    document = {
        "rule_files": [RULES_FILE],
        "evaluation_interval": "1m",
        "tests": [*rule_test_cases(service, environment), track_test_case(service, environment)],
    }
    return generated_header(service.origin) + yaml_text(document)
