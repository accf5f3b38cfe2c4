"""What each deploy environment runs: the one merge of its ``runtime`` overrides over the
top-level ``runtime``, and the checks of what a deploy on its target would otherwise refuse
(or, worse, run wrongly) — so ``validate`` says it first, at the line to change.

Works on schema-valid data with the schema's defaults filled in (``schema.with_defaults``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from typing import Any

from jenkins_bridge.descriptor.schema import SWARM_SLOT, SWARM_TEMPLATE_PATTERN
from jenkins_bridge.descriptor.validation import problem_at
from jenkins_bridge.descriptor.yamlsource import KeyPath, LoadedDocument
from jenkins_bridge.errors import Problem

_TEMPLATE = re.compile(SWARM_TEMPLATE_PATTERN)
_EVERY_ADDRESS = ("0.0.0.0", "[::]", "::")


def _by_key(
    base: list[dict[str, Any]],
    override: list[dict[str, Any]],
    key: str,
    merge: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """``base`` with each entry of ``override`` merged into the one with the same ``key``
    (order kept); an entry with a new key is added at the end."""
    out = [dict(item) for item in base]
    for item in override:
        for index, existing in enumerate(out):
            if existing.get(key) == item.get(key):
                out[index] = merge(existing, item)
                break
        else:
            out.append(dict(item))
    return out


def _replaced(_: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return dict(new)


def _env_merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **override}
    return {k: v for k, v in merged.items() if v is not None}  # null removes a variable


def _companion_merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **{k: v for k, v in override.items() if k not in ("env", "secrets")}}
    merged["env"] = _env_merged(base.get("env", {}), override.get("env", {}))
    merged["secrets"] = _by_key(
        base.get("secrets", []), override.get("secrets", []), "env", _replaced
    )
    return merged


def merged_runtime(runtime: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """The one merge of an environment's ``runtime`` over the top-level one (both as data):
    env, healthcheck and resources key by key (a null env value removes the variable),
    secrets by env name, companions by name (only declared ones); port replaces."""
    merged = dict(runtime)
    if "port" in override:
        merged["port"] = override["port"]
    if "env" in override:
        merged["env"] = _env_merged(runtime.get("env", {}), override["env"])
    for key in ("healthcheck", "resources"):
        if key in override:
            merged[key] = {**runtime.get(key, {}), **override[key]}
    if "secrets" in override:
        merged["secrets"] = _by_key(
            runtime.get("secrets", []), override["secrets"], "env", _replaced
        )
    if "companions" in override:
        known = {c.get("name") for c in runtime.get("companions", [])}
        merged["companions"] = _by_key(
            runtime.get("companions", []),
            [c for c in override["companions"] if c.get("name") in known],
            "name",
            _companion_merged,
        )
    return merged


def slot_ports(port_value: str, replicas: int) -> list[int] | None:
    """The port each Swarm slot 1..replicas binds for a PORT value (``{{.Task.Slot}}`` filled
    in), or ``None`` when a slot's value is not a port."""
    ports = []
    for slot in range(1, replicas + 1):
        text = port_value.replace(SWARM_SLOT, str(slot))
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            return None
        ports.append(int(text))
    return ports


def has_template(value: Any) -> bool:
    return isinstance(value, str) and _TEMPLATE.search(value) is not None


def _listen_host(listen: str) -> str:
    return listen.rpartition(":")[0]


def _companion_port(companion: dict[str, Any]) -> int | None:
    if isinstance(companion.get("port"), int):
        return int(companion["port"])
    text = str(companion.get("env", {}).get("PORT", ""))
    return int(text) if text.isdigit() else None


def environment_problems(
    doc: LoadedDocument, data: dict[str, Any], full: dict[str, Any]
) -> Iterator[Problem]:
    """Every check across an environment's target, merged runtime and the other
    environments; ``data`` is schema-valid, ``full`` is it with the defaults filled."""
    written = data.get("deploy") or []
    runtime = full["runtime"]
    yield from _template_problems(doc, ("runtime",), runtime, allowed=False)
    yield from _port_problems(doc, ("runtime",), runtime, runtime)
    seen_namespaces: dict[tuple[str | None, str], int] = {}
    seen_listen: dict[tuple[str | None, str], int] = {}
    for index, stage in enumerate(full["deploy"]):
        where: KeyPath = ("deploy", index)
        override = stage.get("runtime", {})
        merged = merged_runtime(runtime, override)
        yield from _override_problems(doc, where, runtime, override, stage)
        yield from _port_problems(doc, (*where, "runtime"), merged, override)
        target = stage["target"]
        if target == "swarm":
            yield from _swarm_problems(doc, where, stage, merged)
        elif target == "kubernetes":
            yield from _kubernetes_problems(doc, where, stage, merged, full["metadata"]["name"])
            key = (stage.get("context"), stage["namespace"])
            if key in seen_namespaces:
                yield problem_at(
                    doc,
                    (*where, "namespace"),
                    f"deploy[{seen_namespaces[key]}] deploys this service into namespace "
                    f"'{stage['namespace']}' too: the Deployment, Service and companions of "
                    "one would replace the other's; give each environment its own namespace",
                )
            seen_namespaces.setdefault(key, index)
        else:
            if stage["replicas"] != 1:
                yield problem_at(
                    doc,
                    (*where, "replicas"),
                    "target docker runs one container behind its proxy; replicas is for "
                    "swarm and kubernetes (remove it or change the target)",
                )
        yield from _canary_problems(doc, where, stage, written[index], full["monitoring"]["slo"])
        if target != "kubernetes" and "podSecurity" in written[index]:
            yield problem_at(
                doc,
                (*where, "podSecurity"),
                "podSecurity applies to target kubernetes only",
                key=True,
            )
        listen = stage.get("listen")
        if target != "kubernetes" and isinstance(listen, str):
            key = (stage.get("host"), listen)
            if key in seen_listen:
                yield problem_at(
                    doc,
                    (*where, "listen"),
                    f"deploy[{seen_listen[key]}] listens on {listen} on the same engine: "
                    "two environments cannot bind one address; give each its own port",
                )
            seen_listen.setdefault(key, index)


def _template_problems(
    doc: LoadedDocument, where: KeyPath, runtime: dict[str, Any], *, allowed: bool
) -> Iterator[Problem]:
    """Swarm templates only where Swarm expands them: a swarm environment's own env."""
    if allowed:
        return
    fix = (
        "Swarm expands it in a task's environment only; compose, the Docker host and "
        "Kubernetes would pass it on literally: put it in a swarm environment's "
        "deploy[].runtime.env"
    )
    for key, value in runtime.get("env", {}).items():
        if has_template(value):
            yield problem_at(doc, (*where, "env", key), f"{value!r} is a Swarm template; {fix}")
    for index, companion in enumerate(runtime.get("companions", [])):
        for key, value in companion.get("env", {}).items():
            if has_template(value):
                path = (*where, "companions", index, "env", key)
                yield problem_at(doc, path, f"{value!r} is a Swarm template; {fix}")


def _override_problems(
    doc: LoadedDocument,
    where: KeyPath,
    runtime: dict[str, Any],
    override: dict[str, Any],
    stage: dict[str, Any],
) -> Iterator[Problem]:
    declared = [c.get("name") for c in runtime.get("companions", [])]
    for index, companion in enumerate(override.get("companions", [])):
        if companion.get("name") not in declared:
            yield problem_at(
                doc,
                (*where, "runtime", "companions", index, "name"),
                f"no companion '{companion.get('name')}' in runtime.companions (declared: "
                f"{', '.join(map(str, declared)) or 'none'}); an environment overrides the "
                "settings of a declared companion",
            )
    yield from _template_problems(
        doc, (*where, "runtime"), override, allowed=stage["target"] == "swarm"
    )
    env_names = set(_env_merged(runtime.get("env", {}), override.get("env", {})))
    for index, secret in enumerate(override.get("secrets", [])):
        if secret.get("env") in env_names:
            yield problem_at(
                doc,
                (*where, "runtime", "secrets", index, "env"),
                f"'{secret['env']}' also has a plain value in runtime.env; a secret must not",
            )


def _port_problems(
    doc: LoadedDocument, where: KeyPath, merged: dict[str, Any], said: dict[str, Any]
) -> Iterator[Problem]:
    """``env.PORT`` and ``port`` must agree: deploy publishes and probes ``port`` while the
    app listens on PORT. Reported where the disagreeing value is written."""
    value = merged.get("env", {}).get("PORT")
    if value is None or has_template(value):
        return
    if str(value) != str(merged["port"]) and ("env" in said or "port" in said):
        env_written = "PORT" in said.get("env", {})
        path = (*where, "env", "PORT") if env_written else (*where, "port")
        yield problem_at(
            doc,
            path,
            f"env PORT is {value} but port is {merged['port']}: the app listens on PORT while "
            "deploy publishes and probes port; make them equal (or leave PORT out, it is set "
            "from port)",
        )


def _swarm_problems(
    doc: LoadedDocument, where: KeyPath, stage: dict[str, Any], merged: dict[str, Any]
) -> Iterator[Problem]:
    port_value = str(merged.get("env", {}).get("PORT", merged["port"]))
    replicas = stage["replicas"]
    if stage["network"] == "host":
        if stage["updateOrder"] != "stop-first":
            yield problem_at(
                doc,
                (*where, "updateOrder"),
                "network host needs updateOrder stop-first: two tasks cannot bind one port",
            )
        ports = slot_ports(port_value, replicas)
        env_where = (*where, "runtime", "env", "PORT")
        if ports is None:
            yield problem_at(
                doc,
                env_where,
                f"PORT {port_value!r} does not give a port for every slot 1..{replicas}; "
                'use a number, or a number with {{.Task.Slot}} such as "1808{{.Task.Slot}}"',
            )
            return
        if replicas > 1 and len(set(ports)) < len(ports):
            yield problem_at(
                doc,
                (*where, "replicas"),
                f"{replicas} replicas on network host would all bind port {ports[0]}: only "
                "one can; give each task its own port in this environment, e.g. "
                'runtime: {env: {PORT: "1808{{.Task.Slot}}"}}',
            )
        for index, companion in enumerate(merged.get("companions", [])):
            port = _companion_port(companion)
            if port is not None and port in ports:
                yield problem_at(
                    doc,
                    ("runtime", "companions", index),
                    f"companion '{companion['name']}' listens on port {port}, which a task of "
                    f"the app binds in deploy[{where[1]}] (network host: one port, one "
                    "process); give it another port",
                    key=True,
                )
        return
    if has_template(port_value):
        yield problem_at(
            doc,
            (*where, "runtime", "env", "PORT"),
            "a templated PORT means one port per task, which only network host gives; on "
            "an overlay every task listens on port and Swarm publishes the listen port",
        )
    listen = stage.get("listen")
    if listen is None:
        yield problem_at(
            doc,
            where,
            "swarm on an overlay network needs 'listen', the port Swarm publishes "
            "(e.g. listen: 0.0.0.0:18080)",
            key=True,
        )
    elif _listen_host(listen) not in _EVERY_ADDRESS:
        yield problem_at(
            doc,
            (*where, "listen"),
            f"Swarm publishes port {listen.rpartition(':')[2]} on every address of every node "
            f"(the routing mesh), not on {_listen_host(listen)} only: write "
            f"0.0.0.0:{listen.rpartition(':')[2]}, or use network: host to stay on one address",
        )


def _kubernetes_problems(
    doc: LoadedDocument,
    where: KeyPath,
    stage: dict[str, Any],
    merged: dict[str, Any],
    name: str,
) -> Iterator[Problem]:
    if stage.get("listen") is not None:
        yield problem_at(
            doc,
            (*where, "listen"),
            f"target kubernetes has no listen address: clients reach the Service "
            f"{name}.{stage['namespace']} on port {merged['port']}; remove listen (expose it "
            "with an Ingress or a LoadBalancer of your cluster)",
            key=True,
        )
    for index, companion in enumerate(merged.get("companions", [])):
        path = ("runtime", "companions", index)
        if companion["name"] == name:
            yield problem_at(
                doc,
                (*path, "name"),
                f"companion '{name}' has the service's name: on kubernetes both would be the "
                "Service of that name; rename the companion",
            )
        if _companion_port(companion) is None:
            yield problem_at(
                doc,
                path,
                f"companion '{companion['name']}' needs 'port' on kubernetes (deploy[{where[1]}]): "
                "the app reaches it through a Service, which needs the port it listens on",
                key=True,
            )
    pod = stage.get("podSecurity", {})
    user = str(merged.get("security", {}).get("user") or "").split(":")[0]
    if pod.get("runAsNonRoot") is True and user == "0":
        yield problem_at(
            doc,
            (*where, "podSecurity", "runAsNonRoot"),
            "runtime.security.user is root (0), which runAsNonRoot refuses to start",
        )


def _canary_problems(
    doc: LoadedDocument,
    where: KeyPath,
    stage: dict[str, Any],
    written: dict[str, Any],
    slo: dict[str, Any],
) -> Iterator[Problem]:
    """strategy canary: a target that can split traffic, steps that grow to 100 and a
    threshold to judge the error ratio by (a canary judged on latency alone would promote a
    version that answers 500 fast)."""
    if stage["strategy"] != "canary":
        if "canary" in written:
            yield problem_at(
                doc,
                (*where, "canary"),
                "canary applies to strategy canary only (add strategy: canary or remove it)",
                key=True,
            )
        return
    if stage["target"] == "swarm":
        yield problem_at(
            doc,
            (*where, "strategy"),
            "target swarm has no canary: Swarm's routing mesh spreads requests evenly over "
            "the tasks and rolls its own update; use strategy rolling there, or deploy the "
            "canary to a docker or kubernetes environment",
        )
    if stage["target"] == "docker" and stage.get("listen") is None:
        yield problem_at(
            doc,
            where,
            "canary needs 'listen', the stable address whose traffic is split",
            key=True,
        )
    if stage["target"] == "kubernetes" and not stage["canary"].get("prometheus"):
        yield problem_at(
            doc,
            (*where, "strategy"),
            "a Kubernetes canary is judged from Prometheus (a cluster has no proxy request "
            "log to read): set canary.prometheus to the base URL of the Prometheus that "
            "scrapes this environment with the generated rules.yml loaded",
        )
    canary = stage["canary"]
    steps = canary["steps"]
    steps_at = (*where, "canary", "steps") if "steps" in written.get("canary", {}) else where
    if any(b <= a for a, b in itertools.pairwise(steps)):
        yield problem_at(
            doc, steps_at, f"steps must grow at every step (percent, ascending); got {steps}"
        )
    elif steps[-1] != 100:
        yield problem_at(
            doc,
            steps_at,
            f"the last step must be 100 (the promotion: all traffic to the new version); "
            f"got {steps[-1]}",
        )
    if canary.get("maxErrorRatio") is None and slo.get("availability") is None:
        yield problem_at(
            doc,
            (*where, "strategy"),
            "a canary is judged by its error ratio, and nothing gives the threshold: set "
            "monitoring.slo.availability (the canary may then burn the error budget up to "
            "canary.maxBurnRate times faster than the SLO allows) or canary.maxErrorRatio",
        )
