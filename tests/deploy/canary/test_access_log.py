"""The proxy's canary log read into per-version samples: attempts, retries, windows."""

from __future__ import annotations

from jenkins_bridge.deploy.canary.access_log import attempts, samples
from jenkins_bridge.deploy.canary.analysis import VersionSample

STABLE = "198.19.200.2:8080"
CANARY = "198.19.200.3:8080"

LOG = f"""\
100.000|{STABLE}|200|0.004|200
100.100|{CANARY}|200|0.010|200
100.200|{CANARY}|500|0.012|500
100.300|{CANARY}, {STABLE}|502, 200|0.001, 0.005|200
100.400|-|-|-|503
100.500|{STABLE}|200|0.003|200
100.6
not a line at all
101.000|{CANARY}|200|0.300|200
"""


def test_each_attempt_is_read_and_a_retried_one_is_an_error_of_its_upstream() -> None:
    found = list(attempts(LOG))
    assert [(a.upstream, a.error) for a in found] == [
        (STABLE, False),
        (CANARY, False),
        (CANARY, True),
        (CANARY, True),  # nginx gave up on it and asked the stable version
        (STABLE, False),
        (STABLE, False),
        (CANARY, False),
    ]
    assert found[0].at == 100.0 and found[0].seconds == 0.004


def test_samples_per_version_in_a_window() -> None:
    canary, stable = samples(LOG, CANARY, STABLE, 100.0, 101.0)
    assert canary == VersionSample(requests=3, errors=2, p95_ms=12.0)
    assert stable == VersionSample(requests=3, errors=0, p95_ms=5.0)
    later, _ = samples(LOG, CANARY, STABLE, 100.5, 102.0)
    assert later == VersionSample(requests=1, errors=0, p95_ms=300.0)


def test_an_empty_log_has_no_requests() -> None:
    canary, stable = samples("", CANARY, STABLE, 0, 1e12)
    assert canary == stable == VersionSample(0, 0, None)


def test_an_internal_redirect_lists_each_group() -> None:
    line = f"5.0|{CANARY} : {STABLE}|500 : 200|0.010 : 0.002|200\n"
    assert [(a.upstream, a.error) for a in attempts(line)] == [(CANARY, True), (STABLE, False)]
