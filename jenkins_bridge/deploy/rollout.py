"""Deploys, rollbacks and their read-only companions (status, history) on one engine.

Order of a deploy: resolve the image, take the lock, network, proxy, companions, start the new
version beside the old one, health gate, pre-switch hook, switch the proxy, drain, stop the
old one, record. The proxy's configuration is the one truth of what is live: it is rewritten
atomically, so an interrupted deploy leaves either the old or the new version serving.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from jenkins_bridge.containers.runtime import (
    ContainerInfo,
    ContainerSpec,
    DockerRuntime,
    RuntimeFailure,
)
from jenkins_bridge.deploy import health, leftovers
from jenkins_bridge.deploy.companions import ensure_companions
from jenkins_bridge.deploy.errors import (
    DeployError,
    ForeignOwner,
    LockHeld,
    NoSubnet,
    PreSwitchFailed,
)
from jenkins_bridge.deploy.health import container_health
from jenkins_bridge.deploy.history_store import HistoryNotWritten, HistoryStore
from jenkins_bridge.deploy.host_status import ContainerView, StatusReport
from jenkins_bridge.deploy.interrupts import reached, stops_as_interrupts
from jenkins_bridge.deploy.lock import DeployLock, target_lock
from jenkins_bridge.deploy.platform import (
    PLAIN_DEPLOY,
    CommandOptions,
    DeployOptions,
    Log,
    Platform,
    nothing_to_roll_back,
)
from jenkins_bridge.deploy.proxy import (
    CONFIG_DIR,
    CONFIG_FILE,
    PROXY_PORT,
    render_proxy_config,
    upstream_address,
    upstream_of,
)
from jenkins_bridge.deploy.proxy_container import ensure_proxy, mismatch
from jenkins_bridge.deploy.records import (
    ENVIRONMENT_LABEL,
    IMAGE_LABEL,
    LOCK_LABEL,
    RECORD_LABEL,
    ROLE_LABEL,
    SEQ_LABEL,
    SERVICE_LABEL,
    DeployRecord,
    describe_lock,
    last_live,
    owner_labels,
    rollback_candidate,
)
from jenkins_bridge.deploy.redact import Redactor, secret_values
from jenkins_bridge.deploy.target import DeployTarget, bound_secrets, resolve_target
from jenkins_bridge.descriptor.model import Service
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.descriptor.networks import allocate_subnet, overlapping
from jenkins_bridge.errors import BridgeError

POLL_SECONDS = 0.1
KEEP_STOPPED_APPS = 3


@dataclass
class DeployResult:
    result: str  # live | rolled-back
    record: DeployRecord
    failed_logs: str = ""
    steps: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"result": self.result, "record": self.record.as_json(), "steps": self.steps}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_health_spec = container_health  # the name swarm.py imports
_seq = leftovers.seq_of


class Session:
    """One command's view of a service environment on its engine."""

    def __init__(
        self, target: DeployTarget, runtime: DockerRuntime, environ: Mapping[str, str], log: Log
    ) -> None:
        self.runtime = runtime
        self.environ = environ
        self.log = log
        self.target = target
        self.redact = Redactor(secret_values(target.service, environ))
        self.target = self._adopted(target)
        self.names = self.target.names
        self.store = HistoryStore(
            runtime, self.names.state, self.target.helper_image, self.labels("state"), log
        )

    def labels(self, role: str) -> dict[str, str]:
        return owner_labels(self.target.owner, self.target.environment, role)

    def _adopted(self, target: DeployTarget) -> DeployTarget:
        """``target``, under the names an earlier release gave it when its state is found there.

        Earlier releases named objects ``jb-<team>-<name>-<env>`` (ambiguous). Their state
        container is found by its owner labels, which carry the exact service and environment:
        the environment keeps those names (its volumes hold its data) until it is removed.
        """
        found = self.runtime.containers(owner_labels(target.owner, target.environment, "state"))
        team, name = target.owner.split("/", 1)
        legacy = ObjectNames.legacy(team, name, target.environment)
        if any(c.name == legacy.state for c in found) and not any(
            c.name == target.names.state for c in found
        ):
            self.log(f"using the names an earlier release gave this environment ({legacy.base})")
            return replace(target, names=legacy)
        return target

    def owned_objects(self) -> list[tuple[str, str, Mapping[str, str] | None]]:
        """(what, name, its labels or None when absent) of the objects this environment names."""
        network = self.runtime.network_labels(self.names.network)
        owned: list[tuple[str, str, Mapping[str, str] | None]] = [
            ("network", self.names.network, network)
        ]
        for role, name in (("proxy", self.names.proxy), ("state", self.names.state)):
            info = self.runtime.inspect(name)
            owned.append((role, name, None if info is None else info.labels))
        return owned

    def check_owner(self) -> None:
        """Stop when an object under one of this environment's names belongs to another."""
        for what, name, labels in self.owned_objects():
            if labels is None:
                continue
            service = labels.get(SERVICE_LABEL)
            environment = labels.get(ENVIRONMENT_LABEL)
            if (service, environment) != (self.target.owner, self.target.environment):
                raise ForeignOwner(
                    f"{self.target.service.path}: deploy environment "
                    f"'{self.target.environment}': the {what} {name} on "
                    f"{self.runtime.docker_host} belongs to {service or 'no service'} "
                    f"environment {environment or '-'}, not {self.target.owner}; nothing was "
                    "changed",
                    hint="names are unique per team, service and environment: remove or "
                    "rename the other object if it is stale",
                    data={"object": name, "owner": service, "environment": environment},
                )

    # -- state (history) ------------------------------------------------------------------

    def history(self) -> list[DeployRecord]:
        """Every record, oldest first; ``HistoryUnreadable`` names what cannot be read."""
        return self.store.records()

    def append_history(self, record: DeployRecord) -> None:
        self.store.append(record)

    def locked(self, options: DeployOptions) -> DeployLock:
        return target_lock(
            self.runtime,
            self.target,
            options,
            self.environ,
            self.log,
            image=self.target.helper_image,
        )

    # -- network, proxy, companions -------------------------------------------------------

    def ensure_network(self) -> bool:
        """True when this call created the network. An existing network keeps its subnet
        (the environment's stays the same); a new one gets the chosen or allocated one."""
        existing = self.runtime.network_subnet(self.names.network)
        if existing is not None:
            if self.target.subnet and existing != self.target.subnet:
                self.log(
                    f"network {self.names.network} exists with subnet {existing} "
                    f"(not {self.target.subnet}); using it"
                )
            return False
        subnet = self.choose_subnet()
        self.log(
            f"creating network {self.names.network} ({subnet or 'subnet chosen by the engine'})"
        )
        try:
            self.runtime.create_network(self.names.network, subnet, self.labels("network"))
        except RuntimeFailure as exc:
            if "overlap" not in exc.cause.lower():
                raise
            # Another deploy took it between the look and the creation.
            raise self._collision(subnet or "", self.runtime.network_subnets()) from exc
        if subnet is None:
            chosen = self.runtime.network_subnet(self.names.network) or ""
            refused = overlapping(chosen, self.target.refused_subnets) if chosen else None
            if refused is not None:
                self.runtime.remove_network(self.names.network)
                raise NoSubnet(
                    f"{self._where()}: the engine chose subnet {chosen} for network "
                    f"{self.names.network}, inside the refused range {refused}; the network "
                    "was removed",
                    hint="set deploy[].subnetPool (e.g. 198.18.0.0/15) or deploy[].subnet",
                )
        return True

    def _where(self) -> str:
        return f"{self.target.service.path}: deploy environment '{self.target.environment}'"

    def choose_subnet(self) -> str | None:
        """The new network's subnet: the one set (if no other network overlaps it), else a
        free /24 of the pool, else None (the engine chooses)."""
        if not self.target.subnet and not self.target.subnet_pool:
            return None
        taken = self.runtime.network_subnets()
        taken.pop(self.names.network, None)
        if self.target.subnet:
            if any(overlapping(self.target.subnet, s) for s in taken.values()):
                raise self._collision(self.target.subnet, taken)
            return self.target.subnet
        pool = self.target.subnet_pool or ""
        used = [s for subnets in taken.values() for s in subnets]
        chosen = allocate_subnet(pool, used, self.target.refused_subnets, self.names.base)
        if chosen is None:
            raise NoSubnet(
                f"{self._where()}: no free /24 is left in subnetPool {pool} on "
                f"{self.runtime.docker_host} ({len(used)} networks on the engine)",
                hint="widen deploy[].subnetPool or remove networks no one uses",
            )
        return chosen

    def _collision(self, subnet: str, taken: Mapping[str, list[str]]) -> NoSubnet:
        others = [
            f"{name} ({other})"
            for name, subnets in sorted(taken.items())
            for other in subnets
            if name != self.names.network and subnet and overlapping(subnet, [other])
        ]
        return NoSubnet(
            f"{self._where()}: subnet {subnet} for network {self.names.network} overlaps "
            f"{', '.join(others) or 'another network'} on {self.runtime.docker_host}",
            hint="choose another deploy[].subnet, or leave it unset and set subnetPool",
            data={"subnet": subnet, "overlaps": others},
        )

    def proxy_upstream(self) -> str | None:
        raw = self.runtime.get_file(self.names.proxy, f"{CONFIG_DIR}/{CONFIG_FILE}")
        return upstream_of(raw.decode("utf-8", "replace")) if raw else None

    def switch(self, upstream: str | None, generation: int) -> None:
        """Point the proxy at ``upstream`` and wait until nginx serves the new config."""
        text = render_proxy_config(upstream).replace(
            "return 204;", f'return 200 "generation {generation}\\n";'
        )
        self.runtime.put_file(self.names.proxy, CONFIG_DIR, CONFIG_FILE, text.encode())
        # One exec: test the file, then signal the reload (nginx -s returns before it reloads).
        code, output = self.runtime.exec(
            self.names.proxy, ["sh", "-c", "nginx -t -q && exec nginx -s reload"]
        )
        if code != 0:
            raise DeployError(f"the proxy refused its new configuration: {output.strip()}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            answer = self._probe_raw("127.0.0.1", PROXY_PORT, "/.jenkins-bridge/proxy", 2)
            if f"generation {generation}" in answer:
                return
            time.sleep(0.05)
        raise DeployError("the proxy did not pick up its new configuration within 10 s")

    def _probe_raw(self, ip: str, port: int, path: str, timeout: int) -> str:
        # Runs inside the proxy container (on the engine's host, on the service network), so
        # a remote engine is probed exactly like a local one. Values are arguments, not code.
        script = (
            'printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$1" "$2" | nc -w "$3" "$2" "$4"'
        )
        _, output = self.runtime.exec(
            self.names.proxy, ["sh", "-c", script, "probe", path, ip, str(timeout), str(port)]
        )
        return output

    def probe(self, ip: str) -> int | None:
        check = self.target.service.runtime.healthcheck
        answer = self._probe_raw(
            ip, self.target.service.runtime.port, check.path, check.timeout_seconds
        )
        return health.parse_status_line(answer)

    def answer(self) -> str:
        """ "serves" when the proxy answers the health path with 2xx/3xx; else what it found."""
        proxy = self.runtime.inspect(self.names.proxy)
        if proxy is None:
            return "there is no proxy"
        if not proxy.running:
            return f"the proxy {proxy.name} is {proxy.status}"
        check = self.target.service.runtime.healthcheck
        # nc -e keeps the connection open while the reply comes: busybox nc would half-close
        # it after the request, and nginx drops a proxied request whose client closed.
        script = (
            'nc -w "$3" 127.0.0.1 "$4" -e sh -c '
            '\'printf "GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$0" "$1"; head -1 >&2\' '
            '"$1" "$2"'
        )
        _, reply = self.runtime.exec(
            proxy.name,
            ["sh", "-c", script, "probe", check.path, "127.0.0.1",
             str(check.timeout_seconds), str(PROXY_PORT)],
        )  # fmt: skip
        code = health.parse_status_line(reply)
        if code is None or not 200 <= code < 400:
            got = "no answer" if code is None else f"HTTP {code}"
            return f"the proxy answers {check.path} with {got}"
        differs = mismatch(self, proxy)
        return f"the proxy is not the descriptor's: {differs}" if differs else "serves"

    def wait_healthy(self, name: str, *, with_probe: bool) -> health.Verdict:
        started = time.monotonic()
        while True:
            info = self.runtime.inspect(name)
            if info is None:
                return health.Verdict(health.FAILED, "the container disappeared")
            status: int | None = 200
            # The HTTP probe (an exec) runs once Docker has nothing against the container.
            if with_probe and info.health in (None, "healthy"):
                ip = info.addresses.get(self.names.network)
                status = self.probe(ip) if ip and info.running else None
            verdict = health.judge(
                health.Observation(
                    status=info.status,
                    docker_health=info.health,
                    http_status=status,
                    restart_count=info.restart_count,
                    elapsed=time.monotonic() - started,
                    timeout=self.target.health_timeout,
                )
            )
            probe_failed = status is None or not 200 <= status < 400
            if verdict.state == health.FAILED and with_probe and probe_failed:
                return replace(verdict, reason=f"{verdict.reason}; {self.probed(info)}")
            if verdict.state != health.PENDING:
                return verdict
            time.sleep(POLL_SECONDS)

    def probed(self, info: ContainerInfo) -> str:
        """The address the health probe asks, said with a failure (a wrong port shows)."""
        check = self.target.service.runtime
        ip = info.addresses.get(self.names.network) or "(no address)"
        return f"probed http://{ip}:{check.port}{check.healthcheck.path} from the proxy"

    # -- apps -----------------------------------------------------------------------------

    def apps(self) -> list[ContainerInfo]:
        return [
            c
            for c in self.runtime.containers(self.labels("app"))
            if c.labels.get(ROLE_LABEL) == "app"
        ]

    def live_app(self) -> ContainerInfo | None:
        if self.runtime.inspect(self.names.proxy) is None:
            return None
        upstream = self.proxy_upstream()
        if upstream is None:
            return None
        ip = upstream.rsplit(":", 1)[0]
        for app in self.apps():
            if app.addresses.get(self.names.network) == ip:
                return app
        return None

    def app_spec(self, seq: int, image: str, record: DeployRecord) -> ContainerSpec:
        runtime = self.target.service.runtime
        security = runtime.security
        env = {
            "PORT": str(runtime.port),
            **runtime.env,
            **bound_secrets(runtime.secrets, self.environ, self.target.owner),
        }
        return ContainerSpec(
            name=self.names.app(seq),
            image=image,
            labels={
                **self.labels("app"),
                SEQ_LABEL: f"{seq:06d}",
                IMAGE_LABEL: record.digest,
                RECORD_LABEL: json.dumps(record.as_json(), sort_keys=True),
            },
            env=env,
            network=self.names.network,
            aliases=(),  # "app" only once it passed its gate (attach_aliases)
            healthcheck=_health_spec(runtime.healthcheck),
            restart=runtime.restart,
            cpus=runtime.resources.cpus,
            memory=runtime.resources.memory,
            no_new_privileges=security.no_new_privileges,
            user=security.user,
            read_only=security.read_only,
            tmpfs=security.tmpfs,
            cap_drop=security.cap_drop,
            cap_add=security.cap_add,
        )

    def run_hook(self, seq: int, image: str, argv: tuple[str, ...], timeout: float) -> None:
        spec = replace(
            self.app_spec(seq, image, _placeholder_record(seq)),
            name=self.names.hook(seq),
            command=argv,
            labels=self.labels("hook"),
            healthcheck=None,
            restart="no",
            aliases=(),
        )
        self.runtime.remove(spec.name)
        self.runtime.create(spec)
        try:
            self.runtime.start(spec.name)
            code = self.runtime.wait(spec.name, timeout)
            output = self.runtime.logs(spec.name)
        finally:
            self.runtime.remove(spec.name)  # kills a hook still running (timed out)
        if code != 0:
            reason = (
                f"did not finish within {timeout:g} s (the health timeout) and was killed"
                if code == -1
                else f"exited {code}"
            )
            raise PreSwitchFailed(
                f"pre-switch hook {' '.join(argv)!r} {reason}; traffic was not switched",
                hint=self.redact.output("its output", output),
            )
        for line in output.strip().splitlines():
            self.log(f"hook: {self.redact(line)}")

    def prune_stopped(self, keep: set[str]) -> None:
        stopped = [a for a in self.apps() if not a.running and a.name not in keep]
        for app in stopped[:-KEEP_STOPPED_APPS] if len(stopped) > KEEP_STOPPED_APPS else []:
            self.runtime.remove(app.name)


def _placeholder_record(seq: int) -> DeployRecord:
    return DeployRecord(
        seq=seq,
        action="hook",
        environment="",
        image="",
        digest="",
        container="",
        previous=None,
        result="",
        started="",
        duration_seconds=0.0,
    )


def connect(target: DeployTarget) -> DockerRuntime:
    runtime: DockerRuntime = DockerRuntime.connect(target.docker_host)
    return runtime


def deploy(
    target: DeployTarget,
    image: str,
    environ: Mapping[str, str],
    log: Log,
    options: DeployOptions = PLAIN_DEPLOY,
) -> DeployResult:
    """Deploy ``image``; the result says ``live`` or ``rolled-back`` (errors raise). SIGTERM
    and SIGHUP interrupt it like Ctrl-C (``deploy.interrupts``)."""
    runtime_spec = target.service.runtime
    bound_secrets(runtime_spec.secrets, environ, target.owner)  # fail before any change
    for companion in runtime_spec.companions:
        bound_secrets(companion.secrets, environ, target.names.companion(companion.name))
    chosen = options.strategy or target.stage.strategy
    with stops_as_interrupts(), connect(target) as runtime:
        session = Session(target, runtime, environ, log)
        session.check_owner()
        resolved = runtime.resolve_image(image)
        log(f"{image} resolves to {resolved.digest_reference}")
        runtime.resolve_image(target.proxy_image)
        try:
            with session.locked(options):
                reached("locked")
                return _deploy_locked(
                    session, image, resolved.digest_reference, options.action, chosen
                )
        except BridgeError as exc:
            session.redact.error(exc)
            raise


def _deploy_locked(
    session: Session, image: str, digest: str, action: str, strategy: str
) -> DeployResult:
    target = session.target
    runtime = session.runtime
    log = session.log
    started = time.monotonic()
    steps: list[str] = []
    created_network = session.ensure_network()
    try:
        changed = ensure_proxy(session)
    except DeployError:
        if created_network:
            runtime.remove_network(session.names.network)
        raise
    steps.extend([changed] if changed else [])
    for line in leftovers.clear(session):
        log(line)
        steps.append(line)
    history = session.store.parsed().records  # what cannot be read is kept aside on write
    current = session.live_app()
    seq = 1 + max([r.seq for r in history] + [_seq(a) for a in session.apps()] + [0])
    record = DeployRecord(
        seq=seq,
        action=action if strategy != "recreate" or action != "deploy" else "recreate",
        environment=target.environment,
        image=image,
        digest=digest,
        container=session.names.app(seq),
        previous=current.labels.get(IMAGE_LABEL) if current else None,
        result="pending",
        started=_iso(_now()),
        duration_seconds=0.0,
        build_url=session.environ.get("BUILD_URL") or None,
        git_commit=session.environ.get("GIT_COMMIT") or None,
        descriptor_sha256=target.service.digest,
        agent=session.environ.get("NODE_NAME") or socket.gethostname(),
    )

    switched_at: list[float] = []

    def finish(result: str, detail: str = "", downtime: float | None = None) -> DeployRecord:
        done = replace(
            record,
            switched_after_seconds=round(switched_at[0] - started, 3) if switched_at else None,
            result=result,
            detail=session.redact(detail),
            duration_seconds=round(time.monotonic() - started, 3),
            downtime_seconds=None if downtime is None else round(downtime, 3),
        )
        session.append_history(done)
        return done

    stop_timeout = target.service.runtime.stop_timeout_seconds
    down_since: float | None = None
    switched = False
    try:
        for step in ensure_companions(session, session.environ):
            log(step)
            steps.append(step)
        reached("companions")
        if strategy == "recreate" and current is not None:
            log(f"recreate: stopping {current.name}")
            down_since = time.monotonic()
            session.switch(None, seq * 10)
            runtime.stop(current.name, stop_timeout)
            reached("recreate-stopped")
        log(f"starting {record.container} ({digest})")
        runtime.create(session.app_spec(seq, digest, record))
        runtime.start(record.container)
        reached("gate")
        verdict = session.wait_healthy(record.container, with_probe=True)
        if verdict.state != health.HEALTHY:
            return _roll_back(session, record, current, verdict.reason, down_since, finish)
        hook = target.stage.pre_switch
        if hook:
            log(f"pre-switch hook: {' '.join(hook)}")
            session.run_hook(seq, digest, hook, target.health_timeout)
        new = runtime.attach_aliases(record.container, session.names.network, ("app",))
        reached("gated")
        _switch_to(session, new, seq * 10 + 1)
        switched = True
        switched_at.append(time.monotonic())
        downtime = None if down_since is None else time.monotonic() - down_since
        log(f"traffic switched to {record.container}")
        reached("switched")
        if current is not None and down_since is None:
            time.sleep(target.drain_seconds)
            log(f"stopping {current.name} after {target.drain_seconds:g} s of drain")
            runtime.stop(current.name, stop_timeout)
        session.prune_stopped({record.container})
        detail = "" if downtime is None else f"measured downtime {downtime:.3f} s"
        if detail:
            log(f"recreate: {detail}")
        reached("finished")
    except HistoryNotWritten:
        raise  # the rolled-back record: what was done is done, the message says the rest
    except KeyboardInterrupt as stop:
        # The same cleanup as a failure: nothing unvetted keeps running, a recreate brings
        # the old version back, and the record says what serves.
        if not switched:
            runtime.stop(record.container, stop_timeout)
            if down_since is not None and current is not None:
                _restore(session, current.name, seq * 10 + 4)
        elif current is not None and down_since is None:
            runtime.stop(current.name, stop_timeout)
        serving = session.live_app()
        why = f"interrupted ({stop.args[0]})" if stop.args else "interrupted"
        result = "live" if switched else "interrupted"  # after the switch, the new one serves
        _record_anyway(finish, log, result, f"{why}; serving: {_name(serving)}")
        raise
    except BridgeError as exc:
        if not switched:
            # Traffic never reached the new version: stop it (kept for inspection) and, after
            # a recreate stopped the old one, bring that back.
            runtime.stop(record.container, stop_timeout)
            if down_since is not None and current is not None:
                _restore(session, current.name, seq * 10 + 2)
        state = f"serving: {_name(session.live_app())}"
        exc.message = f"{exc.message}; {state}"
        unrecorded = _record_anyway(finish, log, "failed", exc.message)
        if unrecorded:
            exc.message += f"; {unrecorded}"
        raise
    try:
        return DeployResult("live", finish("live", detail, downtime), steps=steps)
    except HistoryNotWritten as exc:
        exc.message = f"{record.container} is live and serves {digest}, but {exc.message}"
        raise


def _name(app: ContainerInfo | None) -> str:
    return app.name if app else "nothing"


def _record_anyway(finish: Callable[..., DeployRecord], log: Log, result: str, detail: str) -> str:
    """Record a failure or an interrupt; a record that cannot be written is said, not raised
    (the deploy's own error is the one to report)."""
    try:
        finish(result, detail)
    except (HistoryNotWritten, RuntimeFailure) as exc:
        log(exc.message)
        return f"its history record was not written: {exc.message}"
    return ""


def _restore(session: Session, name: str, generation: int) -> None:
    session.runtime.start(name)
    if session.wait_healthy(name, with_probe=True).state == health.HEALTHY:
        info = session.runtime.inspect(name)
        assert info is not None
        _switch_to(session, info, generation)


def _switch_to(session: Session, app: ContainerInfo, generation: int) -> None:
    ip = app.addresses.get(session.names.network)
    if not ip:
        raise DeployError(f"{app.name} has no address on network {session.names.network}")
    upstream = upstream_address(ip, session.target.service.runtime.port)
    session.switch(upstream, generation)


def _roll_back(
    session: Session,
    record: DeployRecord,
    current: ContainerInfo | None,
    reason: str,
    down_since: float | None,
    finish: Callable[..., DeployRecord],
) -> DeployResult:
    runtime = session.runtime
    log = session.log
    logs = runtime.logs(record.container, tail=200)
    log(f"{record.container} failed its health gate: {reason}; stopping it (kept for inspection)")
    runtime.stop(record.container, session.target.service.runtime.stop_timeout_seconds)
    downtime = None
    if down_since is not None and current is not None:
        _restore(session, current.name, record.seq * 10 + 3)
        downtime = time.monotonic() - down_since
    served = current.name if current else "nothing (first deploy)"
    done = finish("rolled-back", f"health gate: {reason}; serving: {served}", downtime)
    return DeployResult("rolled-back", done, failed_logs=session.redact(logs))


def _clear_if_free(session: Session) -> list[str]:
    """Clear what killed deploys left, under the lock taken without waiting; a live holder
    (a deploy in progress) means nothing is touched."""
    newest = max([r.seq for r in session.store.parsed().records] + [0])
    found = leftovers.suspects(session, session.live_app(), newest)
    if not found and session.runtime.inspect(session.names.lock) is None:
        return []
    try:
        lock = session.locked(DeployOptions(action="status", lock_wait=0))
        with lock:
            done = leftovers.clear(session)
        return ([f"removed {lock.took_over}"] if lock.took_over else []) + done
    except LockHeld as exc:
        return [f"nothing cleared ({', '.join(found) or 'no leftovers'}): {exc.message}"]
    except RuntimeFailure as exc:
        return [f"nothing cleared ({', '.join(found)}): {exc.message}"]


def rollback_image(
    target: DeployTarget, history: list[DeployRecord], current: str | None, log: Log
) -> str:
    """The image a rollback returns to: the newest live version before ``current`` (what runs
    now, or else the newest live record)."""
    if current is None:
        newest = last_live(history)
        current = newest.digest if newest else None
    candidate = rollback_candidate(history, current)
    if candidate is None:
        raise nothing_to_roll_back(target, "history has no earlier live version")
    log(f"rolling back to {candidate.digest} (deploy #{candidate.seq})")
    return candidate.digest


class DockerHost(Platform):
    """The ``Platform`` of ``target: docker``: one engine, a tool-run proxy, blue-green."""

    def __init__(self, target: DeployTarget) -> None:
        self.target = target

    @classmethod
    def resolve(cls, service: Service, environment: str, options: CommandOptions) -> DockerHost:
        return cls(
            resolve_target(
                service,
                environment,
                subnet=options.subnet,
                proxy_image=options.proxy_image,
                timeout=options.timeout,
            )
        )

    def deploy(
        self, image: str, environ: Mapping[str, str], log: Log, options: DeployOptions
    ) -> DeployResult:
        if options.strategy is None and self.target.stage.strategy not in (
            "blue-green",
            "recreate",
        ):  # this target's meaning of "rolling" with one replica
            options = replace(options, strategy="blue-green")
        return deploy(self.target, image, environ, log, options)

    def previous_image(self, environ: Mapping[str, str], log: Log) -> str:
        """What ``rollback`` returns to: the previous live version in history."""
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, environ, log)
            history = session.history()
            live = session.live_app()
        return rollback_image(
            self.target, history, live.labels.get(IMAGE_LABEL) if live else None, log
        )

    def status(self, log: Log) -> StatusReport:
        """What runs and whether it serves; what killed deploys left is cleared first, when
        no live deploy holds the lock."""
        with connect(self.target) as runtime:
            session = Session(self.target, runtime, {}, log)
            cleared = _clear_if_free(session)
            proxy = runtime.inspect(session.names.proxy)
            live = session.live_app()
            companions = [
                c
                for c in runtime.containers(session.labels("companion"))
                if c.labels.get(ROLE_LABEL) == "companion"
            ]
            lock = runtime.inspect(session.names.lock)
            parsed = session.store.parsed()
            upstream = session.proxy_upstream() if proxy is not None else None
            report = StatusReport(
                service=self.target.owner,
                environment=self.target.environment,
                engine=runtime.docker_host,
                listen=str(self.target.listen),
                proxy=None if proxy is None else ContainerView.of(proxy),
                upstream=upstream,
                live=None if live is None else ContainerView.of(live),
                apps=[ContainerView.of(a) for a in session.apps()],
                companions=[ContainerView.of(c) for c in companions],
                lock=None if lock is None else describe_lock(lock.labels.get(LOCK_LABEL)),
                last=parsed.records[-1] if parsed.records else None,
                answer=session.answer() if live is not None else "no version is live",
                cleared=cleared,
                history_problem="; ".join(parsed.problems[:3]) or None,
            )
        return report

    def history(self, log: Log) -> list[DeployRecord]:
        with connect(self.target) as runtime:
            return Session(self.target, runtime, {}, log).history()
