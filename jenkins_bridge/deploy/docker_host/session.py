"""One command's view of a service environment on its Docker engine: the engine session.

``Session`` owns what the environment has on the engine and the questions asked of it: its
names (adopting an earlier release's), the network and its subnet, the proxy's configuration
(switching it, probing through it), the app containers and their specs, the health gate's
polling, the pre-switch hook, the lock and the history store. It decides no order of
operations: the deploy algorithm (``docker_host.rollout``) and the commands do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

from jenkins_bridge.containers.runtime import (
    ContainerInfo,
    ContainerSpec,
    DockerRuntime,
    PendingExec,
    RuntimeFailure,
)
from jenkins_bridge.deploy import health
from jenkins_bridge.deploy.errors import DeployError, ForeignOwner, NoSubnet, PreSwitchFailed
from jenkins_bridge.deploy.health import container_health
from jenkins_bridge.deploy.history_store import UNREAD, HistoryStore
from jenkins_bridge.deploy.lock import DeployLock, target_lock
from jenkins_bridge.deploy.options import DeployOptions, Log
from jenkins_bridge.deploy.proxy import (
    CONFIG_DIR,
    CONFIG_FILE,
    PROXY_PORT,
    Split,
    render_proxy_config,
    split_of,
    upstream_of,
)
from jenkins_bridge.deploy.read_ahead import ReadAhead
from jenkins_bridge.deploy.records import (
    ENVIRONMENT_LABEL,
    IMAGE_LABEL,
    RECORD_LABEL,
    ROLE_LABEL,
    SEQ_LABEL,
    SERVICE_LABEL,
    TRACK_LABEL,
    DeployRecord,
    owner_labels,
)
from jenkins_bridge.deploy.redact import Redactor, secret_values
from jenkins_bridge.deploy.target import DeployTarget, bound_secrets
from jenkins_bridge.descriptor.naming import ObjectNames
from jenkins_bridge.descriptor.networks import allocate_subnet, overlapping

POLL_SECONDS = 0.1
OWN_CHECK_PATIENCE_SECONDS = 5.0  # a check still running after this is left, another starts
SETTLE_SECONDS = 0.02  # how often the gate asks whether its own check ended, between polls
KEEP_STOPPED_APPS = 3
NOT_YET = 3  # RELOAD_AND_WAIT's exit when the reloaded proxy did not answer within ~2 s
# Run in the proxy container with $1 = the generation, $2 = its port. "$a" is the whole
# answer without its last newline: its last line is exactly "generation $1" (not 710 for 71).
# A reload takes effect once nginx's new worker answers, ~30-120 ms later on an idle host:
# asked every 10 ms at first, then every 50 ms (each ask starts processes, and on a busy host
# their CPU delays everything else).
RELOAD_AND_WAIT = """\
nginx -t -q || exit 2
nginx -s reload || exit 2
i=0
while [ "$i" -lt 50 ]; do
    a=$(printf 'GET /.jenkins-bridge/proxy HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' \\
        | nc -w 2 127.0.0.1 "$2")
    case "$a" in *"
generation $1") exit 0 ;; esac
    if [ "$i" -lt 10 ]; then sleep 0.01; else sleep 0.05; fi
    i=$((i + 1))
done
exit 3
"""
CANNOT_WRITE = 4  # WRITE_RELOAD_AND_WAIT's exit when the configuration could not be written
NOTHING_SENT = 5  # ... when its input ended before the configuration's last line
END_LINE = "# end of the configuration"  # the last line sent: what arrived is all of it
# The same with the configuration on stdin, written to $3 first: one exec instead of an
# archive-API copy and an exec (~50 ms each). A rename replaces the file, so nginx never reads
# half of it; the temporary name is outside conf.d's *.conf. Input that does not end with
# END_LINE (a sender killed or cancelled before or while sending) changes nothing: the command
# may be started before its configuration is known (``Session.prepare_switch``).
WRITE_RELOAD_AND_WAIT = (
    f'cat >"$3.new" || {{ rm -f "$3.new"; exit {CANNOT_WRITE}; }}\n'
    f'case "$(cat "$3.new")" in *"\n{END_LINE}") ;; '
    f'*) rm -f "$3.new"; exit {NOTHING_SENT} ;; esac\n'
    f'mv -f "$3.new" "$3" || exit {CANNOT_WRITE}\n'
) + RELOAD_AND_WAIT


@dataclass(frozen=True, slots=True)
class PreparedSwitch:
    """``Session.prepare_switch``: the proxy's write-and-reload command of ``generation``,
    started and waiting for its configuration."""

    generation: int
    command: PendingExec

    def cancel(self) -> None:
        """No switch follows: the command gets no configuration and changes nothing (a
        command already given one is not affected)."""
        self.command.cancel()


class Session:
    """One command's view of a service environment on its engine."""

    _holding = False  # see ``held``
    _proxy_config: bytes | object | None = UNREAD
    _proxy_ahead: ReadAhead[bytes | None] | None = None

    def __init__(
        self, target: DeployTarget, runtime: DockerRuntime, environ: Mapping[str, str], log: Log
    ) -> None:
        self.runtime = runtime
        self.environ = environ
        self.log = log
        self.target = target
        self.redact = Redactor(secret_values(target.service, environ))
        self.target = self.adopted(target)
        self.names = self.target.names
        self.store = HistoryStore(
            runtime, self.names.state, self.target.helper_image, self.labels("state"), log
        )

    @contextmanager
    def held(self) -> Iterator[None]:
        """Under the environment's lock (and once the proxy exists as the descriptor wants
        it) only this command writes the history and the proxy's configuration: each is read
        once, then known from what was read and written."""
        self._holding, self._proxy_config, self._proxy_ahead = True, UNREAD, None
        try:
            with self.store.held():
                yield
        finally:
            self._holding, self._proxy_config, self._proxy_ahead = False, UNREAD, None

    def labels(self, role: str) -> dict[str, str]:
        return owner_labels(self.target.owner, self.target.environment, role)

    def adopted(self, target: DeployTarget) -> DeployTarget:
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

    def read_ahead(self) -> None:
        """Under ``held``, once the proxy is as the descriptor wants it: start reading the
        history and the proxy's configuration, both at once, on threads (``ReadAhead``)."""
        self.store.read_ahead()
        if self._holding and self._proxy_config is UNREAD and self._proxy_ahead is None:
            self._proxy_ahead = ReadAhead(self._read_proxy_config)

    def _read_proxy_config(self) -> bytes | None:
        return self.runtime.get_file(self.names.proxy, f"{CONFIG_DIR}/{CONFIG_FILE}")

    def _proxy_raw(self) -> bytes | None:
        if self._holding and self._proxy_config is not UNREAD:
            return self._proxy_config  # type: ignore[return-value]
        ahead, self._proxy_ahead = self._proxy_ahead, None
        raw = ahead.result() if ahead is not None else self._read_proxy_config()
        if self._holding:
            self._proxy_config = raw
        return raw

    def proxy_upstream(self) -> str | None:
        raw = self._proxy_raw()
        return upstream_of(raw.decode("utf-8", "replace")) if raw else None

    def proxy_split(self) -> Split | None:
        """The canary step the proxy splits traffic for (None: no canary runs)."""
        raw = self._proxy_raw()
        return split_of(raw.decode("utf-8", "replace")) if raw else None

    def switch(
        self, upstream: str | None, generation: int, prepared: PreparedSwitch | None = None
    ) -> None:
        """Point the proxy at ``upstream`` and wait until nginx serves the new config
        (``prepared``: ``prepare_switch``'s command of the same generation)."""
        self.write_proxy_config(render_proxy_config(upstream), generation, prepared)

    def _write_argv(self, generation: int) -> list[str]:
        return ["sh", "-c", WRITE_RELOAD_AND_WAIT, "reload", str(generation), str(PROXY_PORT),
                f"{CONFIG_DIR}/{CONFIG_FILE}"]  # fmt: skip

    def prepare_switch(self, generation: int) -> PreparedSwitch:
        """The command that will write the proxy's configuration of ``generation``, started
        now in the proxy container and waiting for the text, so the engine starts it while
        the caller does its last steps before the switch. Cancel it when no switch follows:
        until it gets a whole configuration (``END_LINE``) it changes nothing."""
        pending = self.runtime.exec_awaiting_input(self.names.proxy, self._write_argv(generation))
        return PreparedSwitch(generation, pending)

    def write_proxy_config(
        self, config: str, generation: int, prepared: PreparedSwitch | None = None
    ) -> None:
        """Write the proxy's configuration and wait until nginx serves it."""
        text = config.replace("return 204;", f'return 200 "generation {generation}\\n";')
        text = f"{text}{END_LINE}\n"
        self._proxy_config, self._proxy_ahead = UNREAD, None  # a failed write: unknown
        deadline = time.monotonic() + 10
        # One exec: write the file, test it, signal the reload (nginx -s returns before it
        # reloads) and wait a while for this generation's answer; the probes below wait for
        # the rest.
        if prepared is not None and prepared.generation != generation:
            prepared.command.cancel()  # another generation's: it would answer to the wrong one
            prepared = None
        if prepared is None:
            prepared = PreparedSwitch(
                generation,
                self.runtime.exec_awaiting_input(self.names.proxy, self._write_argv(generation)),
            )
        code, output = prepared.command.send(text.encode())
        if code == CANNOT_WRITE:
            raise DeployError(
                f"the proxy's configuration {CONFIG_DIR}/{CONFIG_FILE} could not be written in "
                f"{self.names.proxy}: {output.strip() or 'no output'}"
            )
        if self._holding:
            self._proxy_config = text.encode()
        if code == 0:
            return
        if code != NOT_YET:
            raise DeployError(f"the proxy refused its new configuration: {output.strip()}")
        while time.monotonic() < deadline:
            answer = self._probe_raw("127.0.0.1", PROXY_PORT, "/.jenkins-bridge/proxy", 2)
            # The whole body line: "generation 71" must not match generation 710's answer.
            if f"generation {generation}\n" in answer:
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

    def wait_healthy(self, name: str, *, with_probe: bool) -> health.Verdict:
        started = time.monotonic()
        own_check = OwnHealthCheck(self.runtime, name)
        early_probe = with_probe  # once per gate, see below
        # The early probe's answer, when it came, and the check it ran beside.
        held: tuple[int | None, float, str] | None = None
        while True:
            info = self.runtime.inspect(name)
            if info is None:
                return health.Verdict(health.FAILED, "the container disappeared")
            early: int | None = None
            if info.health == "starting" and info.running:
                probing: ReadAhead[int | None] | None = None
                if early_probe and own_check.starts_next(info):
                    # Once, as the first check starts: the probe asks too (on a thread, while
                    # the engine starts the check), so an app that is ready at once passes both
                    # in one round, not a check, a poll and a probe. Only with that check's
                    # pass, within a poll of the answer, does it count (Docker's verdict first).
                    early_probe = False
                    probing = ReadAhead(partial(self._probe_info, info))
                passed = own_check.passed(info)
                if probing is not None:
                    answer = probing.result()
                    if not passed and own_check.running is not None:
                        held = (answer, time.monotonic(), own_check.running)
                        passed = own_check.passed(info)
                if passed:
                    # Docker's first check waits a whole interval; the same command passing
                    # now is what Docker would find (it turns healthy after one pass).
                    info = replace(info, health="healthy")
                    if held is not None and held[2] == own_check.passed_exec:
                        fresh = time.monotonic() - held[1] <= POLL_SECONDS
                        early = held[0] if fresh else None
                    held = None
            status: int | None = 200
            # The HTTP probe (an exec) runs once Docker has nothing against the container.
            if with_probe and info.health in (None, "healthy"):
                ok_early = early is not None and 200 <= early < 400
                status = early if ok_early else self._probe_info(info)
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
            own_check.pause(POLL_SECONDS)

    def _probe_info(self, info: ContainerInfo) -> int | None:
        ip = info.addresses.get(self.names.network)
        return self.probe(ip) if ip and info.running else None

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

    def live_app(self, apps: list[ContainerInfo] | None = None) -> ContainerInfo | None:
        """The app the proxy sends traffic to; ``apps``: a listing the caller just made."""
        if self.runtime.inspect(self.names.proxy) is None:
            return None
        upstream = self.proxy_upstream()
        if upstream is None:
            return None
        ip = upstream.rsplit(":", 1)[0]
        for app in self.apps() if apps is None else apps:
            if app.addresses.get(self.names.network) == ip:
                return app
        return None

    def app_spec(
        self, seq: int, image: str, record: DeployRecord, track: str = "stable"
    ) -> ContainerSpec:
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
                TRACK_LABEL: track,
                RECORD_LABEL: json.dumps(record.as_json(), sort_keys=True),
            },
            env=env,
            network=self.names.network,
            aliases=(),  # "app" only once it passed its gate (attach_aliases)
            healthcheck=container_health(runtime.healthcheck),
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
            self.app_spec(seq, image, DeployRecord.placeholder(seq, "hook")),
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


class OwnHealthCheck:
    """The container's own healthcheck command, run by the gate itself as Docker runs it (an
    exec in the container), without waiting for Docker's interval. Only a pass counts: a
    failure or a hung command decides nothing (Docker's retries and the gate's timeout do)."""

    def __init__(self, runtime: DockerRuntime, name: str) -> None:
        self.runtime = runtime
        self.name = name
        self.running: str | None = None  # the id of the exec that runs
        self.ended: int | None = None  # its exit code, once ``pause`` saw it end
        self.passed_exec: str | None = None  # the id of the exec that passed
        self.since = 0.0
        self.ok = False

    def starts_next(self, info: ContainerInfo) -> bool:
        """Whether ``passed(info)`` starts the command now (none runs, none passed yet)."""
        return (
            not self.ok and self.running is None and health.test_argv(info.health_test) is not None
        )

    def passed(self, info: ContainerInfo) -> bool:
        argv = health.test_argv(info.health_test)
        if self.ok or argv is None:
            return self.ok
        if self.running is not None:
            code = (
                self.ended if self.ended is not None else self.runtime.exec_exit_code(self.running)
            )
            if code is None and time.monotonic() - self.since < OWN_CHECK_PATIENCE_SECONDS:
                return False  # still running: asked again on the next poll
            finished, self.running, self.ended = self.running, None, None
            self.ok = code == 0
            if self.ok:
                self.passed_exec = finished
                return True
        try:
            self.running = self.runtime.exec_detached(self.name, argv)
        except RuntimeFailure:
            return False  # e.g. it stopped meanwhile: Docker's state says the rest
        self.since = time.monotonic()
        return False

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` between two polls of the gate, cut short when the running check
        passes: its exec is asked every ``SETTLE_SECONDS`` (a cheap inspect), so a pass counts
        at once, not a whole poll later. A failed check waits the poll out (no faster retries)."""
        deadline = time.monotonic() + seconds
        while self.running is not None and self.ended is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(SETTLE_SECONDS, left))
            self.ended = self.runtime.exec_exit_code(self.running)
            if self.ended == 0:
                return
        left = deadline - time.monotonic()
        if left > 0:
            time.sleep(left)


def connect(target: DeployTarget) -> DockerRuntime:
    runtime: DockerRuntime = DockerRuntime.connect(target.docker_host)
    return runtime
