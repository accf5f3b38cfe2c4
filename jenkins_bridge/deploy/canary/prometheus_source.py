"""The canary's ``MetricsSource`` from Prometheus (``deploy[].canary.prometheus``): requests,
5xx answers and p95 latency of the canary and the stable version over a window, read from
the per-track recording rules ``rules.yml`` generates (``render/monitoring/rules.py``).

On Kubernetes the two are the ``track`` label's values (a canary Deployment's pods are never
promoted: the stable Deployment rolls to new pods). On a Docker host they are the ``version``
label's, the deploy's seq of each container: its ``track`` container label would still say
canary once the canary is promoted, so the next canary would count it as its own.

The rules are rates per second over ``track_window``, evaluated every scrape interval; the sum
of a rule's samples inside the window times that interval is the number of requests in it.
A rate looks back one rate window, so the first samples of a step still hold some traffic of
the step before (at most ``track_window``, a minute by default): steps shorter than that are
judged partly on their predecessor's traffic."""

from __future__ import annotations

import math

from jenkins_bridge.deploy.canary.analysis import VersionSample
from jenkins_bridge.descriptor.model import DeployStage, Service
from jenkins_bridge.prometheus.client import PrometheusClient, Sample
from jenkins_bridge.render.monitoring.rules import (
    CANARY,
    STABLE,
    TRACK,
    VERSION,
    track_rule_names,
)
from jenkins_bridge.render.monitoring.yaml_text import label_matchers


class PrometheusSource:
    """Measures both versions of one service environment with three instant queries, against
    ``prometheus``: a base URL (``deploy[].canary.prometheus``) or a client. ``versions``
    (canary, stable): the ``version`` label of each (a Docker host's seqs); without it, the
    ``track`` label tells them apart (Kubernetes)."""

    def __init__(
        self,
        prometheus: str | PrometheusClient,
        service: Service,
        stage: DeployStage,
        versions: tuple[str, str] | None = None,
    ) -> None:
        self.client = PrometheusClient(prometheus) if isinstance(prometheus, str) else prometheus
        self.by, (self.canary, self.stable) = (
            (VERSION, versions) if versions else (TRACK, (CANARY, STABLE))
        )
        self.interval = service.monitoring.scrape_interval_seconds
        self.requests, self.errors, self.buckets = track_rule_names(service)
        self.selector = (
            "{"
            + label_matchers(
                {
                    "team": service.metadata.team,
                    "service": service.metadata.name,
                    "environment": stage.environment,
                }
            )
            + "}"
        )

    def queries(self, seconds: int) -> tuple[str, str, str]:
        """(requests, 5xx, p95 in seconds) per track or version over the last ``seconds``."""
        window = f"[{seconds}s]"
        own, by = self.selector, self.by

        def count(rule: str) -> str:
            return f"sum by ({by}) (sum_over_time({rule}{own}{window})) * {self.interval}"

        p95 = (
            f"histogram_quantile(0.95, sum by ({by}, le) "
            f"(sum_over_time({self.buckets}{own}{window})))"
        )
        return count(self.requests), count(self.errors), p95

    def sample(self, window_start: float, window_end: float) -> tuple[VersionSample, VersionSample]:
        """(canary, stable) over ``[window_start, window_end]``; a version Prometheus has no
        series for answered nothing (0 requests, no p95)."""
        seconds = max(1, round(window_end - window_start))
        requests, errors, p95 = (
            _by_label(self.client.query(q, window_end), self.by) for q in self.queries(seconds)
        )

        def version(value: str) -> VersionSample:
            latency = p95.get(value)
            return VersionSample(
                requests=round(requests.get(value, 0.0)),
                errors=round(errors.get(value, 0.0)),
                p95_ms=None if latency is None else latency * 1000,
            )

        return version(self.canary), version(self.stable)


def _by_label(samples: list[Sample], label: str) -> dict[str, float]:
    """Each track's or version's finite value (histogram_quantile answers NaN without
    requests)."""
    return {
        s.labels.get(label, ""): s.value
        for s in samples
        if not math.isnan(s.value) and not math.isinf(s.value)
    }
