"""``deploy --dry-run`` on the Docker host: what a deploy would change, read from the engine."""

from __future__ import annotations

from collections.abc import Mapping

from jenkins_bridge.containers.runtime import DockerRuntime
from jenkins_bridge.deploy.canary.analysis import Thresholds
from jenkins_bridge.deploy.docker_host.session import Session, connect
from jenkins_bridge.deploy.dry_run import DeployPlan
from jenkins_bridge.deploy.errors import SecretUnbound
from jenkins_bridge.deploy.lock_admin import lock_blocker
from jenkins_bridge.deploy.options import DeployOptions, Log
from jenkins_bridge.deploy.records import IMAGE_LABEL, SPEC_LABEL
from jenkins_bridge.deploy.target import DeployTarget, bound_secrets, companion_spec_hash
from jenkins_bridge.descriptor.model import Companion


def plan_deploy(
    target: DeployTarget, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
) -> DeployPlan:
    """What ``deploy`` of ``image`` would do, step by step in its order; nothing is changed."""
    strategy = options.strategy or target.stage.strategy
    if strategy == "canary" and options.action == "rollback":
        strategy = "blue-green"  # a rollback returns to a version that served
    strategy = strategy if strategy in ("blue-green", "recreate", "canary") else "blue-green"
    with connect(target) as runtime:
        session = Session(target, runtime, environ, log)
        names = session.names
        digest = runtime.resolve_image(image).digest_reference
        plan = DeployPlan(target.owner, target.environment, image, digest, None)
        _check_secrets(target, environ, plan)
        held = lock_blocker(
            runtime, names.lock, target.owner, target.environment, options.lock_wait
        )
        plan.blockers.extend([held] if held else [])
        subnet = runtime.network_subnet(names.network)
        if subnet is None:
            plan.step(
                f"create network {names.network} ({target.subnet})"
                if target.subnet
                else f"create network {names.network} (a subnet from deploy[].subnetPool, "
                "or the engine's choice)"
            )
        else:
            plan.keep(f"network {names.network} ({subnet})")
        proxy = runtime.inspect(names.proxy)
        if proxy is None:
            plan.step(f"start proxy {names.proxy} on {target.listen} ({target.proxy_image})")
        elif not proxy.running:
            plan.step(f"start the stopped proxy {names.proxy}")
        else:
            plan.keep(f"proxy {names.proxy} on {target.listen}")
        for companion in target.service.runtime.companions:
            _plan_companion(runtime, session, companion, plan)
        live = session.live_app()
    plan.live = None if live is None else live.labels.get(IMAGE_LABEL)
    if live is not None and plan.live == digest:
        plan.keep(f"{digest} is already live in {live.name}; a deploy starts it anew")
    if strategy == "recreate" and live is not None:
        plan.step(f"stop {live.name} first (recreate: downtime until the new one is healthy)")
    plan.step(
        f"start a container of {digest} and gate it on its health "
        f"({target.health_timeout:g} s, {target.service.runtime.healthcheck.path})"
    )
    if target.stage.pre_switch:
        plan.step(f"run the pre-switch hook {' '.join(target.stage.pre_switch)}")
    if strategy == "canary" and live is not None:
        _plan_canary(target, live.name, plan)
    plan.step(
        "point the proxy at it"
        + (f" (from {live.name})" if live is not None else " (nothing serves now)")
    )
    if live is not None and strategy != "recreate":
        plan.step(f"stop {live.name} after {target.drain_seconds:g} s of drain")
    return plan


def _plan_canary(target: DeployTarget, live: str, plan: DeployPlan) -> None:
    """The canary's steps and what judges them; a failed step would put all traffic back."""
    spec = target.stage.canary
    thresholds = Thresholds.for_service(target.service, target.stage)
    source = f"Prometheus at {spec.prometheus}" if spec.prometheus else "the proxy's request log"
    for step, percent in enumerate(spec.steps, 1):
        plan.step(
            f"canary step {step}/{len(spec.steps)}: send it {percent} % of requests "
            f"({100 - percent} % to {live}) for {spec.interval_seconds} s, judged by "
            f"{thresholds.describe()} from {source}"
        )
    plan.step(f"(a failed step sends all traffic back to {live} and stops the canary: exit 3)")


def _check_secrets(target: DeployTarget, environ: Mapping[str, str], plan: DeployPlan) -> None:
    """A secret without a value stops a deploy before any change: the plan says so."""
    runtime = target.service.runtime
    checks = [(runtime.secrets, target.owner)] + [(c.secrets, c.name) for c in runtime.companions]
    for secrets, who in checks:
        try:
            bound_secrets(secrets, environ, who)
        except SecretUnbound as exc:
            plan.blockers.append(exc.message)


def _plan_companion(
    runtime: DockerRuntime, session: Session, companion: Companion, plan: DeployPlan
) -> None:
    name = session.names.companion(companion.name)
    digest = runtime.resolve_image(companion.image).digest_reference
    existing = runtime.inspect(name)
    if existing is None:
        plan.step(f"start companion {companion.name} ({name}, {digest})")
    elif (
        existing.labels.get(SPEC_LABEL) == companion_spec_hash(companion, digest)
        and existing.running
        and existing.health != "unhealthy"
    ):
        plan.keep(f"companion {companion.name} ({name})")
    else:
        why = "its spec changed" if existing.running else f"it is {existing.status}"
        plan.step(f"replace companion {companion.name} ({name}): {why}")
