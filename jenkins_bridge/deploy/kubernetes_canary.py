"""``strategy: canary`` on Kubernetes: a canary Deployment (``<name>-canary``, the app's pod
template with the new image and the ``canary`` track) beside the stable one, behind the same
Service, so requests split in the ratio of ready pods. Each step runs
``ceil(step % x replicas)`` canary pods beside the stable Deployment's untouched replicas,
holds ``intervalSeconds`` and is judged from Prometheus (``deploy[].canary.prometheus``: the
per-track recording rules). A step that fails, or a canary that never gets ready, ends the
run; the caller then leaves the stable Deployment as it is and records ``rolled-back``. A
passed last step lets the caller roll the stable Deployment to the new image. Whatever the
outcome, the caller removes the canary Deployment (``remove``) once it is no longer needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from jenkins_bridge.deploy.canary.analysis import (
    MetricsSource,
    Thresholds,
    Verdict,
    VersionSample,
)
from jenkins_bridge.deploy.canary.prometheus_source import PrometheusSource
from jenkins_bridge.deploy.canary.run import CanaryRun, StepResult, held_verdict
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import DeployError
from jenkins_bridge.deploy.target import DeployTarget
from jenkins_bridge.errors import BridgeError
from jenkins_bridge.kube.cluster import Cluster, DeploymentState
from jenkins_bridge.render.kubernetes import canary_deployment, canary_object_name

Log = Callable[[str], None]
# On the canary Deployment: the step it is at, which ``status`` shows from another process.
STEP_ANNOTATION = "jenkins-bridge.dev/canary-step"


def summary(run: CanaryRun) -> str:
    """The history record's detail: what failed with its numbers, or what passed."""
    if run.passed:
        return f"canary passed {len(run.steps)} steps ({run.thresholds.describe()})"
    return run.failure()


def canary_replicas(percent: int, replicas: int) -> int:
    """The canary's pods at ``percent``: ``ceil(percent % x replicas)``, at least one."""
    return max(1, math.ceil(percent * replicas / 100))


def steps(
    target: DeployTarget,
    cluster: Cluster,
    image: str,
    annotations: Mapping[str, str],
    stable: DeploymentState,
    log: Log,
    wait_ready: Callable[[str], tuple[bool, str]],
    sleep: Callable[[float], None] = time.sleep,
) -> CanaryRun:
    """The deploy's canary phase: ``run_canary`` judged from ``deploy[].canary.prometheus``
    beside the stable Deployment's replicas."""
    url = target.stage.canary.prometheus
    if url is None:  # validation refuses this; a hand-built model could still get here
        raise DeployError(
            f"{target.service.path}: a Kubernetes canary needs deploy[].canary.prometheus",
            hint="set it to the base URL of the Prometheus that loads the generated rules.yml",
        )
    source = PrometheusSource(url, target.service, target.stage)
    return run_canary(
        target, cluster, image, annotations, stable.replicas, source, log,
        wait_ready=wait_ready, sleep=sleep,
    )  # fmt: skip


def run_canary(
    target: DeployTarget,
    cluster: Cluster,
    image: str,
    annotations: Mapping[str, str],
    stable_pods: int,
    source: MetricsSource,
    log: Log,
    *,
    wait_ready: Callable[[str], tuple[bool, str]],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> CanaryRun:
    """Hold each step, judge it, stop at the first that does not pass. ``wait_ready(name)``
    waits for a Deployment's rollout: (converged, why not). ``clock`` is the wall clock the
    metrics are stamped with. The stable Deployment is never touched here."""
    service, stage = target.service, target.stage
    spec = stage.canary
    thresholds = Thresholds.for_service(service, stage)
    run = CanaryRun(spec.steps, thresholds, "prometheus")
    name = canary_object_name(service)
    log(
        f"canary: {len(spec.steps)} steps ({', '.join(f'{p} %' for p in spec.steps)}) of "
        f"Deployment {stage.namespace}/{name} beside {stable_pods} stable pod(s), "
        f"{spec.interval_seconds} s each; judged by {thresholds.describe()} from "
        f"Prometheus at {spec.prometheus}"
    )
    first: float | None = None
    for step, percent in enumerate(spec.steps, 1):
        pods = canary_replicas(percent, stage.replicas)
        manifest = canary_deployment(service, stage, image, annotations, pods)
        at = f"{percent} %, step {step}/{len(spec.steps)}"
        manifest["metadata"]["annotations"] = {
            **manifest["metadata"]["annotations"],
            STEP_ANNOTATION: at,
        }
        cluster.apply(manifest)
        ready, why = wait_ready(name)
        start = clock()
        first = start if first is None else first
        if ready:
            log(
                f"canary step {step}/{len(spec.steps)} ({percent} %): {pods} canary pod(s) "
                f"beside {stable_pods} stable, {pods / (pods + stable_pods):.0%} of requests"
            )
            verdict = _held(source, thresholds, spec.interval_seconds, start, sleep, clock, log)
        else:
            nothing = VersionSample(0, 0, None)
            reason = f"the canary did not get ready: {why}"
            verdict = Verdict("fail", (reason,), nothing, nothing, thresholds)
        result = StepResult(step, percent, clock() - start, verdict)
        run.results.append(result)
        log(f"canary {result.describe(len(spec.steps))}")
        if not verdict.passed:
            run.detected_after_seconds = clock() - first
            return run
    return run


def _held(
    source: MetricsSource,
    thresholds: Thresholds,
    interval: float,
    start: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    log: Log,
) -> Verdict:
    """``held_verdict``; a Prometheus that cannot answer is a deploy error naming the query."""
    try:
        return held_verdict(source, thresholds, interval, start, sleep, clock, log)
    except DeployError:
        raise
    except BridgeError as exc:  # the Prometheus adapter's errors
        raise DeployError(
            f"the canary analysis failed: {exc.message}; the stable Deployment is untouched",
            hint=exc.hint,
        ) from exc


def plan_steps(
    target: DeployTarget, live: DeploymentState | None, image: str, plan: DeployPlan
) -> None:
    """Put the canary's steps in a dry run's ``plan``, before the stable Deployment's update
    (nothing when there is no live version to compare with, or it runs ``image`` already)."""
    service, stage = target.service, target.stage
    if live is None or live.image == image:
        return
    spec, namespace = stage.canary, stage.namespace
    thresholds = Thresholds.for_service(service, stage)
    name = canary_object_name(service)
    steps = []
    for step, percent in enumerate(spec.steps, 1):
        pods = canary_replicas(percent, stage.replicas)
        steps.append(
            f"canary step {step}/{len(spec.steps)} ({percent} %): Deployment {namespace}/{name} "
            f"with {pods} pod(s) beside {live.replicas} stable ({pods / (pods + live.replicas):.0%}"
            f" of requests), held {spec.interval_seconds} s, judged from Prometheus at "
            f"{spec.prometheus} ({thresholds.describe()}); a failing step ends the deploy here, "
            "rolled-back (exit 3), the stable Deployment untouched"
        )
    stable = f"Deployment {namespace}/{service.metadata.name}"
    at = next(
        (
            i
            for i, c in enumerate(plan.changes)
            if c.startswith((f"update {stable}", f"create {stable}"))
        ),
        max(0, len(plan.changes) - 1),
    )
    plan.changes[at:at] = steps
    plan.step(f"delete Deployment {namespace}/{name} (the canary)")


def describe(state: DeploymentState | None) -> str | None:
    """A running canary as ``status`` shows it: ``IMAGE at 50 %, step 2/3 (1 of 1 pod ready)``;
    None when there is none."""
    if state is None:
        return None
    at = state.annotations.get(STEP_ANNOTATION)
    where = f"{state.image} at {at}" if at else state.image
    return f"{where} ({state.ready} of {state.replicas} pod(s) ready)"


def remove(target: DeployTarget, cluster: Cluster, log: Log) -> None:
    """Delete the canary Deployment, if there is one (its pods go in the background). It
    never outlives its deploy; one a killed deploy left is removed by the next deploy or
    rollback of the environment. A failure to delete it is logged, never raised: it must not
    hide what ended the deploy."""
    name = canary_object_name(target.service)
    try:
        removed = cluster.delete("Deployment", name, target.stage.namespace)
    except BridgeError as exc:
        log(f"canary: could not remove Deployment {target.stage.namespace}/{name}: {exc.message}")
        return
    if removed:
        log(f"canary: Deployment {target.stage.namespace}/{name} removed")
