"""The canary's ``MetricsSource`` from Prometheus (``deploy[].canary.prometheus``): requests,
5xx answers and p95 latency of each track (``stable``, ``canary``) over a window, read from
the per-track recording rules ``rules.yml`` generates (``render/monitoring/rules.py``).

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
from jenkins_bridge.render.monitoring.rules import CANARY, STABLE, TRACK, track_rule_names
from jenkins_bridge.render.monitoring.yaml_text import label_matchers


class PrometheusSource:
    """Measures both tracks of one service environment with three instant queries, against
    ``prometheus``: a base URL (``deploy[].canary.prometheus``) or a client."""

    def __init__(
        self, prometheus: str | PrometheusClient, service: Service, stage: DeployStage
    ) -> None:
        self.client = PrometheusClient(prometheus) if isinstance(prometheus, str) else prometheus
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
        """(requests, 5xx, p95 in seconds) per track over the last ``seconds``."""
        window = f"[{seconds}s]"
        own = self.selector

        def count(rule: str) -> str:
            return f"sum by ({TRACK}) (sum_over_time({rule}{own}{window})) * {self.interval}"

        p95 = (
            f"histogram_quantile(0.95, sum by ({TRACK}, le) "
            f"(sum_over_time({self.buckets}{own}{window})))"
        )
        return count(self.requests), count(self.errors), p95

    def sample(self, window_start: float, window_end: float) -> tuple[VersionSample, VersionSample]:
        """(canary, stable) over ``[window_start, window_end]``; a track Prometheus has no
        series for answered nothing (0 requests, no p95)."""
        seconds = max(1, round(window_end - window_start))
        requests, errors, p95 = (
            _by_track(self.client.query(q, window_end)) for q in self.queries(seconds)
        )

        def version(track: str) -> VersionSample:
            latency = p95.get(track)
            return VersionSample(
                requests=round(requests.get(track, 0.0)),
                errors=round(errors.get(track, 0.0)),
                p95_ms=None if latency is None else latency * 1000,
            )

        return version(CANARY), version(STABLE)


def _by_track(samples: list[Sample]) -> dict[str, float]:
    """Each track's finite value (histogram_quantile answers NaN without requests)."""
    return {
        s.labels.get(TRACK, ""): s.value
        for s in samples
        if not math.isnan(s.value) and not math.isinf(s.value)
    }
