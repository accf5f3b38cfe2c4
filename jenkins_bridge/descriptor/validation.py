"""Turn a loaded descriptor into located problems: schema rules first, then rules across fields.

Messages name the dotted path and say what was expected; positions come from the YAML source,
so every problem reads ``file:line:column: path: message``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from jenkins_bridge.descriptor.naming import (
    RESERVED_SUFFIXES,
    SET_ASIDE_SUFFIXES,
    reserved_suffix,
    reserved_variable,
    set_aside_suffix,
)
from jenkins_bridge.descriptor.networks import listen_problem, subnet_problem
from jenkins_bridge.descriptor.schema import SCHEMA
from jenkins_bridge.descriptor.schema_check import certainly_valid
from jenkins_bridge.descriptor.yamlsource import KeyPath, LoadedDocument
from jenkins_bridge.errors import Problem

if TYPE_CHECKING:
    import jsonschema_rs

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "list",
    dict: "mapping",
    type(None): "null",
}


def dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@functools.cache
def _validator() -> jsonschema_rs.Validator:
    import jsonschema_rs  # ~20 ms with the compile below: see schema_problems

    return jsonschema_rs.validator_for(SCHEMA)


# Importing jsonschema-rs and compiling the schema cost about 20 ms once, then ~10 us a
# document; schema_check's pure-Python check costs 0.1-0.4 ms a document. So the first few
# documents of a process (validate of one file, pre-commit's changed files) are checked in
# Python, and jsonschema-rs is loaded only for a larger run or for a document Python is not
# sure of (every problem is found and worded by jsonschema-rs alone).
QUICK_CHECKS = 16
_quick_left = [QUICK_CHECKS]


def _subschema(path: KeyPath) -> dict[str, Any]:
    """The schema node describing ``path`` (for allowed keys and custom messages)."""
    node: dict[str, Any] = SCHEMA
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        else:
            props = node.get("properties")
            node = props.get(part, {}) if props else node.get("additionalProperties", {}) or {}
    return node


def _schema_at(schema_path: Sequence[str | int]) -> dict[str, Any]:
    """The schema node a rule sits in (``schema_path`` without the rule's keyword)."""
    node: Any = SCHEMA
    for part in schema_path:
        node = node[part]
    return node if isinstance(node, dict) else {}


def problem_at(doc: LoadedDocument, path: KeyPath, message: str, *, key: bool = False) -> Problem:
    file, line, column = doc.where(path, key=key)
    return Problem("invalid", f"{dotted(path)}: {message}", file, line, column)


def schema_problems(doc: LoadedDocument, data: dict[str, Any]) -> Iterator[Problem]:
    """Every rule of the schema the data breaks (jsonschema-rs: compiled, so checking is cheap
    enough to run on every descriptor), each explained at its place."""
    if _quick_left[0] > 0 and _validator.cache_info().currsize == 0:
        _quick_left[0] -= 1
        if certainly_valid(data, SCHEMA):
            return
    for error in _validator().iter_errors(data):
        yield from _translate(doc, error)


def _translate(doc: LoadedDocument, error: jsonschema_rs.ValidationError) -> Iterator[Problem]:
    import difflib  # only an invalid descriptor gets here: off every command's start-up path

    import jsonschema_rs

    path: KeyPath = tuple(error.instance_path)
    kind = error.kind
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        allowed = sorted(_subschema(path).get("properties", {}))
        for key in sorted(kind.unexpected):
            guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{guess[0]}'?" if guess else f"allowed: {', '.join(allowed)}"
            yield problem_at(doc, (*path, key), f"unknown key '{key}' ({hint})", key=True)
        return
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        yield problem_at(doc, path, f"missing required key '{kind.property}'", key=True)
        return
    *where, last = error.schema_path
    schema, rule = _schema_at(where), str(last)
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.PropertyNames):
        name = kind.error.instance
        shape = schema.get("x-name-message", "letters, digits and '_', not starting with a digit")
        yield problem_at(
            doc, (*path, str(name)), f"'{name}' is not a valid name ({shape})", key=True
        )
        return
    custom = schema.get("x-message") if rule == "pattern" else None
    yield problem_at(doc, path, custom or _message(rule, schema.get(rule), error.instance))


_RULES = {
    "pattern": "does not match",
    "minimum": "must be at least",
    "maximum": "must be at most",
    "exclusiveMinimum": "must be greater than",
    "exclusiveMaximum": "must be less than",
}


def _message(kind: str, value: Any, instance: Any) -> str:
    got = f"got {_type_name(instance)} {_short(instance)}"
    if kind == "type":
        expected = " or ".join(value) if isinstance(value, list) else value
        expected = expected.replace("object", "mapping").replace("array", "list")
        hint = ""
        if isinstance(instance, bool) and "string" in str(value):
            hint = " (quote it: YAML reads yes/no/on/off/true/false as booleans)"
        return f"expected {expected}, {got}{hint}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, value))}; {got}"
    if kind == "const":
        return f"must be {value!r}; {got}"
    if kind in _RULES:
        return f"{_RULES[kind]} {value}; {got}"
    if kind == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters long"
    if kind == "maxLength":
        return f"must be at most {value} characters long"
    if kind == "minItems":
        return f"must list at least {value} item{'s' if value != 1 else ''}"
    return f"{kind} {value!r} not satisfied; {got}"


_PARAMETER_TYPE_DEFAULT = _subschema(("pipeline", "parameters", 0, "type"))["default"]


def field_problems(doc: LoadedDocument, data: dict[str, Any]) -> Iterator[Problem]:
    """Rules that span fields and that JSON Schema cannot say clearly."""
    pipeline = _mapping(data.get("pipeline"))
    seen: dict[str, int] = {}
    for index, param in enumerate(_sequence(pipeline.get("parameters"))):
        if not isinstance(param, dict):
            continue
        name = param.get("name")
        if isinstance(name, str) and name:
            if name.upper() in seen:
                yield problem_at(
                    doc,
                    ("pipeline", "parameters", index, "name"),
                    f"parameter '{name}' is already defined at parameters[{seen[name.upper()]}]",
                )
            seen.setdefault(name.upper(), index)
        kind = param.get("type", _PARAMETER_TYPE_DEFAULT)
        default = param.get("default")
        where = ("pipeline", "parameters", index)
        if kind == "boolean" and default is not None and not isinstance(default, bool):
            yield problem_at(doc, (*where, "default"), "a boolean parameter needs true or false")
        if kind in ("string", "text") and isinstance(default, bool):
            yield problem_at(doc, (*where, "default"), f"a {kind} parameter needs a text default")
        if kind == "choice":
            choices = param.get("choices")
            if not choices:
                yield problem_at(doc, where, "a choice parameter needs 'choices'", key=True)
            elif default is not None and isinstance(choices, list) and default not in choices:
                yield problem_at(doc, (*where, "default"), "default must be one of the choices")
        elif "choices" in param:
            yield problem_at(
                doc, (*where, "choices"), "'choices' only applies to type: choice", key=True
            )

    test_names: dict[str, int] = {}
    for index, step in enumerate(_sequence(pipeline.get("test"))):
        if isinstance(step, dict) and isinstance(step.get("name"), str):
            name = step["name"]
            if name in test_names:
                yield problem_at(
                    doc, ("pipeline", "test", index, "name"), f"test stage '{name}' is listed twice"
                )
            test_names.setdefault(name, index)

    runtime = _mapping(data.get("runtime"))
    env_names = set(_mapping(runtime.get("env")))
    for index, secret in enumerate(_sequence(runtime.get("secrets"))):
        if isinstance(secret, dict) and secret.get("env") in env_names:
            yield problem_at(
                doc,
                ("runtime", "secrets", index, "env"),
                f"'{secret['env']}' is also in runtime.env; a secret must not have a plain value",
            )

    environments: dict[str, int] = {}
    for index, stage in enumerate(_sequence(data.get("deploy"))):
        if not isinstance(stage, dict):
            continue
        env = stage.get("environment")
        if isinstance(env, str):
            if env in environments:
                yield problem_at(
                    doc,
                    ("deploy", index, "environment"),
                    f"environment '{env}' is already deployed by deploy[{environments[env]}]",
                )
            environments.setdefault(env, index)
        if stage.get("strategy") == "blue-green" and "listen" not in stage:
            yield problem_at(
                doc,
                ("deploy", index),
                "blue-green needs 'listen', the stable address traffic is switched behind",
                key=True,
            )
    if data.get("deploy") and "image" not in data:
        yield problem_at(doc, ("deploy",), "deploying needs an 'image' section to build", key=True)
    yield from grammar_problems(doc, pipeline)
    yield from alert_routing_problems(doc, _mapping(data.get("monitoring")))
    yield from deploy_input_problems(doc, data)


def grammar_problems(doc: LoadedDocument, pipeline: dict[str, Any]) -> Iterator[Problem]:
    """Values Jenkins parses with a grammar of its own, checked by that grammar: a value it
    refuses would only fail at build time (declarative) or vanish with a log line (config.xml).
    """
    triggers = _mapping(pipeline.get("triggers"))
    for key in ("poll", "cron"):
        spec = triggers.get(key)
        if isinstance(spec, str):
            # the grammars (regexes, tables) are loaded only for a descriptor that has a
            # trigger or a label: every command that loads one pays for what it imports
            from jenkins_bridge.descriptor.cron import CronSpecError, check_cron_spec

            try:
                check_cron_spec(spec)
            except CronSpecError as exc:
                where = ("pipeline", "triggers", key)
                yield problem_at(doc, where, f"Jenkins would refuse this cron spec: {exc}")
    agent = pipeline.get("agent")
    if isinstance(agent, str) and agent and agent != "any":
        from jenkins_bridge.descriptor.label_expression import (
            LabelExpressionError,
            check_label_expression,
        )

        try:
            check_label_expression(agent)
        except LabelExpressionError as exc:
            message = f"not a Jenkins label expression: {exc}"
            yield problem_at(doc, ("pipeline", "agent"), message)


def alert_routing_problems(doc: LoadedDocument, monitoring: dict[str, Any]) -> Iterator[Problem]:
    """Alerts go only to declared receivers, and a receiver says where it sends them; a typo
    in ``notify`` would otherwise route a service's alerts nowhere."""
    alerts = _mapping(monitoring.get("alerts"))
    receivers = _mapping(alerts.get("receivers"))
    for name, receiver in receivers.items():
        if isinstance(receiver, dict) and not receiver:
            where = ("monitoring", "alerts", "receivers", name)
            yield problem_at(doc, where, "a receiver needs 'email' or 'webhook'", key=True)
    notify = alerts.get("notify")
    if isinstance(notify, str) and notify not in receivers:
        declared = ", ".join(sorted(receivers)) or "none"
        yield problem_at(
            doc,
            ("monitoring", "alerts", "notify"),
            f"receiver '{notify}' is not declared in monitoring.alerts.receivers "
            f"(declared: {declared}); declare it there, e.g. in the team's _defaults.yaml",
        )


def deploy_input_problems(doc: LoadedDocument, data: dict[str, Any]) -> Iterator[Problem]:
    """Values a deploy would act on wrongly although their shape is right."""
    runtime = _mapping(data.get("runtime"))
    subnets: list[tuple[KeyPath, Any]] = [
        (("runtime", "composeSubnet"), runtime.get("composeSubnet"))
    ]
    for index, stage in enumerate(_sequence(data.get("deploy"))):
        stage = _mapping(stage)
        subnets.append((("deploy", index, "subnet"), stage.get("subnet")))
        subnets.append((("deploy", index, "subnetPool"), stage.get("subnetPool")))
        listen = stage.get("listen")
        problem = listen_problem(listen) if isinstance(listen, str) else None
        if problem:
            yield problem_at(doc, ("deploy", index, "listen"), problem)
    for path, subnet in subnets:
        problem = subnet_problem(subnet) if isinstance(subnet, str) else None
        if problem:
            yield problem_at(doc, path, problem)
    secrets: list[tuple[KeyPath, Any]] = [
        (("runtime", "secrets", i), s) for i, s in enumerate(_sequence(runtime.get("secrets")))
    ]
    for index, companion in enumerate(_sequence(runtime.get("companions"))):
        for i, secret in enumerate(_sequence(_mapping(companion).get("secrets"))):
            secrets.append((("runtime", "companions", index, "secrets", i), secret))
    for path, secret in secrets:
        env = _mapping(secret).get("env")
        if isinstance(env, str) and reserved_variable(env):
            yield problem_at(
                doc,
                (*path, "env"),
                f"'{env}' is a variable the pipeline steps or the deploy set or read; bound "
                "to a secret it would replace theirs: choose another name",
            )
    for index, companion in enumerate(_sequence(runtime.get("companions"))):
        companion = _mapping(companion)
        where: KeyPath = ("runtime", "companions", index)
        volume = _mapping(companion.get("volume"))
        for path, name in (
            ((*where, "name"), companion.get("name")),
            ((*where, "volume", "name"), volume.get("name")),
        ):
            if isinstance(name, str) and reserved_suffix(name):
                yield problem_at(
                    doc,
                    path,
                    f"'{name}' is a name the deploy gives its own objects "
                    f"({', '.join(RESERVED_SUFFIXES)}, app-N, hook-N, exec-N); choose another",
                )
    companion_names = [_mapping(c).get("name") for c in _sequence(runtime.get("companions"))]
    for index, name in enumerate(companion_names):
        if not isinstance(name, str) or (suffix := set_aside_suffix(name)) is None:
            continue
        stem = name.removesuffix(suffix)
        whose = (
            f"companion '{stem}''s container while a change replaces it"
            if stem in companion_names
            else f"a companion '{stem}''s container while a change replaces it"
        )
        yield problem_at(
            doc,
            ("runtime", "companions", index, "name"),
            f"'{name}' ends in '{suffix}', reserved for {whose} "
            f"({' and '.join(SET_ASIDE_SUFFIXES)} are the deploy's set-aside names); "
            "choose another name",
        )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
