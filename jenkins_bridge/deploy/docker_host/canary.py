"""``strategy: canary`` on a Docker host: the proxy sends the new version a growing share of
real requests, one step at a time, and each step is judged from the proxy's own request log
(or Prometheus, when ``deploy[].canary.prometheus`` names one) before the next.

The rollout (``docker_host/rollout.py``) starts the canary beside the live version and gates
its health as for blue-green; ``run_canary`` then drives the steps and returns the judgement.
A failed step, an error or an interrupt puts all traffic back on the stable version before
anything else (the proxy's configuration is the one truth of what serves); promoting a canary
that passed its last step is the rollout's ordinary switch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jenkins_bridge.containers.runtime import ContainerInfo
from jenkins_bridge.deploy.canary import access_log
from jenkins_bridge.deploy.canary.analysis import (
    MetricsSource,
    Thresholds,
    VersionSample,
)
from jenkins_bridge.deploy.canary.run import CanaryRun, StepResult, held_verdict
from jenkins_bridge.deploy.docker_host.session import Session
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.interrupts import reached
from jenkins_bridge.deploy.proxy import (
    CANARY_LOG_DIR,
    Split,
    canary_log_path,
    render_split_config,
    upstream_address,
)
from jenkins_bridge.deploy.records import SEQ_LABEL

# Below this, the engine's clock is taken to be ours (the log's times are the engine's).
CLOCK_SLACK_SECONDS = 2.0


class ProxyLogSource:
    """Samples both versions from one step's request log in the proxy container."""

    def __init__(self, session: Session, split: Split, clock_offset: float) -> None:
        self.session = session
        self.split = split
        self.clock_offset = clock_offset

    def sample(self, window_start: float, window_end: float) -> tuple[VersionSample, VersionSample]:
        raw = self.session.runtime.get_file(self.session.names.proxy, self.split.log_path)
        text = (raw or b"").decode("utf-8", "replace")
        shift = self.clock_offset
        return access_log.samples(
            text, self.split.canary, self.split.stable, window_start + shift, window_end + shift
        )


def engine_clock_offset(session: Session, clock: Callable[[], float] = time.time) -> float:
    """How far the engine's clock (the one nginx logs with) is ahead of ours; 0 within the
    slack of a one-second reading (a local engine shares our clock)."""
    before = clock()
    code, output = session.runtime.exec(session.names.proxy, ["date", "+%s"])
    after = clock()
    try:
        engine = float(output.strip())
    except ValueError:
        return 0.0
    if code != 0:
        return 0.0
    offset = engine + 0.5 - (before + after) / 2  # the reading truncates to the second
    return offset if abs(offset) >= CLOCK_SLACK_SECONDS else 0.0


def prometheus_source_for(
    session: Session, stable: ContainerInfo, canary: ContainerInfo
) -> MetricsSource:
    """The Prometheus source (the generated recording rules), each version by its container's
    seq label, which the scrape config makes the ``version`` label (not by track: a promoted
    canary keeps saying canary); imported only when a canary asks for it."""
    from jenkins_bridge.deploy.canary.prometheus_source import PrometheusSource

    url = session.target.stage.canary.prometheus
    assert url is not None
    versions = (canary.labels.get(SEQ_LABEL, ""), stable.labels.get(SEQ_LABEL, ""))
    return PrometheusSource(url, session.target.service, session.target.stage, versions)


def address_of(session: Session, app: ContainerInfo) -> str:
    ip = app.addresses.get(session.names.network)
    if not ip:
        raise DeployError(f"{app.name} has no address on network {session.names.network}")
    return upstream_address(ip, session.target.service.runtime.port)


def run_canary(
    session: Session,
    seq: int,
    stable: ContainerInfo,
    canary: ContainerInfo,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> CanaryRun:
    """Hold each step, judge it, stop at the first that does not pass. Whatever ends the run
    early (a failed step, an error, an interrupt), all traffic is back on ``stable`` when this
    returns or raises; after a passed last step the canary has 100 % and the caller promotes.
    """
    spec = session.target.stage.canary
    thresholds = Thresholds.for_service(session.target.service, session.target.stage)
    run = CanaryRun(spec.steps, thresholds, "prometheus" if spec.prometheus else "proxy-log")
    stable_address, canary_address = address_of(session, stable), address_of(session, canary)
    log = session.log
    log(
        f"canary: {len(spec.steps)} steps ({', '.join(f'{p} %' for p in spec.steps)}), "
        f"{spec.interval_seconds} s each; judged by {thresholds.describe()} "
        f"(from {f'Prometheus at {spec.prometheus}' if spec.prometheus else 'the proxy log'})"
    )
    offset = 0.0 if spec.prometheus else engine_clock_offset(session, clock)
    first_traffic: float | None = None
    try:
        for step, percent in enumerate(spec.steps, 1):
            split = Split(
                stable=stable_address,
                canary=canary_address,
                percent=percent,
                step=step,
                steps=len(spec.steps),
                container=canary.name,
                log_path=canary_log_path(seq, step),
            )
            session.write_proxy_config(render_split_config(split), seq * 1000 + 500 + step)
            start = clock()
            first_traffic = start if first_traffic is None else first_traffic
            log(f"canary step {step}/{len(spec.steps)}: {percent} % of requests to {canary.name}")
            reached("canary")
            source = (
                prometheus_source_for(session, stable, canary)
                if spec.prometheus
                else ProxyLogSource(session, split, offset)
            )
            verdict = held_verdict(
                source, thresholds, spec.interval_seconds, start, sleep, clock, log
            )
            result = StepResult(step, percent, clock() - start, verdict)
            run.results.append(result)
            log(f"canary {result.describe(len(spec.steps))}")
            if not verdict.passed:
                run.detected_after_seconds = clock() - first_traffic
                _back_to_stable(session, stable_address, seq)
                return run
    except BaseException:
        # An error or an interrupt: traffic back to the stable version first.
        _back_to_stable(session, stable_address, seq)
        raise
    return run


def _back_to_stable(session: Session, stable_address: str, seq: int) -> None:
    session.switch(stable_address, seq * 10 + 2)
    session.log(f"canary: all traffic back on the stable version ({stable_address})")
    clear_logs(session)


def clear_logs(session: Session) -> None:
    """Remove the canary's request logs from the proxy (nginx no longer writes them)."""
    session.runtime.exec(
        session.names.proxy,
        ["sh", "-c", f"rm -f {CANARY_LOG_DIR}/jenkins-bridge-canary-*.log"],
    )
