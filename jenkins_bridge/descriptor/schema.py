"""The descriptor's JSON Schema (v1): the one source of field names, types, defaults and docs.

``jenkins-bridge schema`` prints it for editors; validation (jsonschema-rs, in ``validation``)
and the model (``with_defaults`` fills what a descriptor leaves out) read it.
Custom ``x-message`` texts replace jsonschema's generic wording where a rule needs explaining;
``x-default-shown`` is what the descriptor reference (docs/reference/descriptor.md) shows for
a default that names this release.
"""

from __future__ import annotations

import copy
import marshal
from dataclasses import dataclass
from typing import Any

from jenkins_bridge import __version__

# Jenkins rejects ?*/\%!@#$^&|<>[]:; in item names (jenkins.model.Jenkins.checkGoodName);
# we are stricter so a name is also a valid DNS label, container and image name.
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
CREDENTIALS_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
LISTEN_PATTERN = r"^(\[[0-9a-fA-F:]+\]|[0-9]{1,3}(\.[0-9]{1,3}){3}|localhost):[0-9]{1,5}$"
MEMORY_PATTERN = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|k|m|g|K|M|G)?$"
BRANCH_PATTERN = r"^[A-Za-z0-9._/-]{1,200}$"
RELPATH_PATTERN = r"^(?!/)(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/ -]{1,255}$"
# The shared library the pipelines load: released as the git tag ``v<version>`` of the library
# repository, so a pipeline never asks for a version that does not exist.
LIBRARY_NAME = "jenkins-bridge"
LIBRARY_VERSION = f"v{__version__}"
DEFAULT_LIBRARY = f"{LIBRARY_NAME}@{LIBRARY_VERSION}"
# An absolute URL path: no query or fragment, no empty or dot-dot segment (Prometheus would
# send it as is, and a proxy in front may normalise it to another path).
METRICS_PATH_PATTERN = r"^(?!.*//)(?!.*/\.\.?(/|$))/[A-Za-z0-9._~/-]{0,255}$"
IMAGE_PATTERN = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$"


def _str(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _obj(properties: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "additionalProperties": False,
        "properties": properties,
        **extra,
    }


_credentials_id = _str(
    "Jenkins credentials ID (never a secret value).",
    pattern=CREDENTIALS_ID_PATTERN,
    **{"x-message": "must be a Jenkins credentials ID (letters, digits, '.', '_', '-')"},
)

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://jenkins-bridge.dev/schema/v1/service.json",
    "title": "jenkins-bridge service descriptor (v1)",
    "type": "object",
    "additionalProperties": False,
    "required": ["apiVersion", "kind", "metadata", "source"],
    "properties": {
        "apiVersion": {"const": "jenkins-bridge/v1", "description": "Descriptor format version."},
        "kind": {"const": "Service", "description": "Always Service."},
        "metadata": _obj(
            {
                "name": _str(
                    "Service name: lowercase letters, digits and '-'; unique within its team.",
                    pattern=NAME_PATTERN,
                    **{
                        "x-message": "must be 1-63 lowercase letters, digits or '-', "
                        "starting and ending with a letter or digit"
                    },
                ),
                "team": _str(
                    "Owning team; becomes the Jenkins folder.",
                    pattern=NAME_PATTERN,
                    **{
                        "x-message": "must be 1-63 lowercase letters, digits or '-', "
                        "starting and ending with a letter or digit"
                    },
                ),
                "description": _str(
                    "Human description of the service.", default="", maxLength=2000
                ),
                "owners": {
                    "type": "array",
                    "description": "Owner contacts (e-mail addresses).",
                    "items": {"type": "string", "minLength": 1, "maxLength": 254},
                    "default": [],
                },
            },
            "Who and what the service is.",
            required=["name", "team"],
        ),
        "source": _obj(
            {
                "repo": _str("Git URL of the service repository.", minLength=1, maxLength=2000),
                "branch": _str(
                    "Branch that builds and deploys.",
                    default="main",
                    pattern=BRANCH_PATTERN,
                    **{"x-message": "must be a branch name (letters, digits, '.', '_', '/', '-')"},
                ),
                "credentialsId": _credentials_id,
                "jenkinsfile": _str(
                    "Path of the generated Jenkinsfile in the service repository (multibranch "
                    "jobs; a plain pipeline job holds its script itself).",
                    default="Jenkinsfile",
                    pattern=RELPATH_PATTERN,
                    **{"x-message": "must be a relative path inside the repository"},
                ),
                "descriptor": _str(
                    "Where the pipeline puts the resolved descriptor in the service repository "
                    "(as .jenkins-bridge-resolved.json in this path's folder; image paths are "
                    "relative to it).",
                    default="jenkins-bridge.yaml",
                    pattern=RELPATH_PATTERN,
                    **{"x-message": "must be a relative path inside the repository"},
                ),
            },
            "Where the code lives.",
            required=["repo"],
        ),
        "pipeline": _obj(
            {
                "jobType": {
                    "enum": ["pipeline", "multibranch"],
                    "default": "pipeline",
                    "description": "A single-branch pipeline job, or a multibranch project.",
                },
                "agent": _str(
                    "Jenkins label expression, e.g. 'linux && docker' ('any' for any agent).",
                    default="any",
                    minLength=1,
                    maxLength=200,
                ),
                "timeoutMinutes": {
                    "type": "integer",
                    "description": "Timeout of the work: building, testing and pushing, and each "
                    "deploy (an approval waits on its own timeout).",
                    "minimum": 1,
                    "maximum": 10080,
                    "default": 60,
                },
                "keepBuilds": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 10000,
                    "default": 20,
                    "description": "Builds kept by the build discarder.",
                },
                "triggers": _obj(
                    {
                        # Both are checked by Jenkins' cron grammar (descriptor/cron.py).
                        "poll": _str("pollSCM cron spec, e.g. 'H/5 * * * *'.", maxLength=2000),
                        "cron": _str("Timed build cron spec, e.g. 'H 2 * * *'.", maxLength=2000),
                    },
                    "Build triggers.",
                    default={},
                ),
                "parameters": {
                    "type": "array",
                    "description": "Build parameters.",
                    "default": [],
                    "items": _obj(
                        {
                            "name": _str(
                                "Parameter name.",
                                pattern=IDENTIFIER_PATTERN,
                                **{"x-message": "must be an identifier (letters, digits, '_')"},
                            ),
                            "type": {
                                "enum": ["string", "text", "boolean", "choice"],
                                "default": "string",
                                "description": "Parameter kind.",
                            },
                            "default": {
                                "type": ["string", "boolean", "number"],
                                "description": "Default value (a choice lists its default first).",
                            },
                            "description": _str("Help text.", default="", maxLength=2000),
                            "choices": {
                                "type": "array",
                                "description": "Values of a choice parameter.",
                                "items": {"type": "string"},
                                "minItems": 1,
                            },
                        },
                        "One build parameter.",
                        required=["name"],
                    ),
                },
                "test": {
                    "type": "array",
                    "description": "Test stages, run in order inside the built image's workspace.",
                    "default": [],
                    "items": _obj(
                        {
                            "name": _str("Stage name.", minLength=1, maxLength=100),
                            "run": _str("Shell command to run.", minLength=1, maxLength=10000),
                        },
                        "One test stage.",
                        required=["name", "run"],
                    ),
                },
                "notify": _obj(
                    {"email": _str("Address mailed when a build fails or recovers.", minLength=3)},
                    "Notifications.",
                    default={},
                ),
                "library": _str(
                    "Shared library reference (default: jenkins-bridge@v<this version>, a release "
                    "tag).",
                    pattern=r"^[A-Za-z0-9._-]+(@[A-Za-z0-9._/-]+)?$",
                    default=DEFAULT_LIBRARY,
                    **{"x-default-shown": ""},
                ),
            },
            "How the Jenkins job and pipeline behave.",
            default={},
        ),
        "image": _obj(
            {
                "repository": _str(
                    "Image repository, e.g. registry.example.com/team/app.",
                    pattern=IMAGE_PATTERN,
                    maxLength=255,
                    **{"x-message": "must be a lowercase image repository like host:5000/team/app"},
                ),
                "credentialsId": _credentials_id,
                "context": _str(
                    "Build context directory.",
                    default=".",
                    pattern=RELPATH_PATTERN,
                    **{"x-message": "must be a relative path inside the repository"},
                ),
                "dockerfile": _str(
                    "Dockerfile path relative to the context.",
                    default="Dockerfile",
                    pattern=RELPATH_PATTERN,
                    **{"x-message": "must be a relative path inside the repository"},
                ),
                "target": _str("Multi-stage build target.", pattern=r"^[A-Za-z0-9._-]{1,128}$"),
                "buildArgs": {
                    "type": "object",
                    "description": "Build arguments (never secrets).",
                    "default": {},
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
            },
            "The container image; without it the pipeline has no build, push or deploy stages.",
            required=["repository"],
        ),
        "runtime": _obj(
            {
                "port": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 65535,
                    "default": 8080,
                    "description": "Port the app listens on (it reads PORT).",
                },
                "env": {
                    "type": "object",
                    "default": {},
                    "description": "Plain environment variables (never secrets).",
                    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                },
                "secrets": {
                    "type": "array",
                    "default": [],
                    "description": "Secrets bound from Jenkins credentials IDs.",
                    "items": _obj(
                        {
                            "env": _str("Environment variable name.", pattern=IDENTIFIER_PATTERN),
                            "credentialsId": _credentials_id,
                        },
                        "A secret injected from Jenkins credentials.",
                        required=["env", "credentialsId"],
                    ),
                },
                "healthcheck": _obj(
                    {
                        "path": _str(
                            "HTTP path probed.",
                            default="/healthz",
                            pattern=r"^/[!-~]*$",
                            **{
                                "x-message": "must be an absolute URL path of printable ASCII "
                                "characters (percent-encode others), e.g. /healthz"
                            },
                        ),
                        "intervalSeconds": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 5,
                            "description": "Seconds between probes.",
                        },
                        "timeoutSeconds": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 2,
                            "description": "Probe timeout.",
                        },
                        "retries": {
                            "type": "integer",
                            "minimum": 1,
                            "default": 3,
                            "description": "Failed probes before unhealthy.",
                        },
                        "startPeriodSeconds": {
                            "type": "integer",
                            "minimum": 0,
                            "default": 10,
                            "description": "Grace period after start.",
                        },
                    },
                    "HTTP health check.",
                    default={},
                ),
                "restart": {
                    "enum": ["no", "on-failure", "always", "unless-stopped"],
                    "default": "on-failure",
                    "description": "Container restart policy.",
                },
                "resources": _obj(
                    {
                        "cpus": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 512,
                            "description": "CPU limit.",
                        },
                        "memory": _str(
                            "Memory limit, e.g. 256Mi.",
                            pattern=MEMORY_PATTERN,
                            **{"x-message": "must be a size like 256Mi or 1Gi"},
                        ),
                    },
                    "Resource limits.",
                    default={},
                ),
            },
            "How the service runs.",
            default={},
        ),
        "deploy": {
            "type": "array",
            "description": "Environments deployed in order, from the deploy branch only.",
            "default": [],
            "items": _obj(
                {
                    "environment": _str(
                        "Environment name.",
                        pattern=NAME_PATTERN,
                        **{"x-message": "must be lowercase letters, digits or '-'"},
                    ),
                    "target": {
                        "enum": ["docker", "swarm", "kubernetes"],
                        "default": "docker",
                        "description": "Where it runs.",
                    },
                    "strategy": {
                        "enum": ["recreate", "blue-green", "rolling", "canary"],
                        "default": "rolling",
                        "description": "How the new version replaces the old (canary: a "
                        "growing share of real traffic, judged against the SLO at each step; "
                        "see deploy[].canary).",
                    },
                    "listen": _str(
                        "Stable address clients use, host:port.",
                        pattern=LISTEN_PATTERN,
                        **{"x-message": "must be host:port, e.g. 127.0.0.1:18080"},
                    ),
                    "replicas": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 1000,
                        "default": 1,
                        "description": "Copies to run (swarm, kubernetes).",
                    },
                    "approval": _obj(
                        {
                            "submitter": _str(
                                "User or group allowed to approve.", minLength=1, maxLength=200
                            ),
                            "message": _str(
                                "Question shown on the input step.", default="", maxLength=500
                            ),
                            "timeoutMinutes": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 43200,
                                "default": 1440,
                                "description": "Minutes the approval waits; then it expires, "
                                "the build is aborted and the log says so.",
                            },
                        },
                        "Wait for a person before deploying.",
                    ),
                },
                "One deploy stage.",
                required=["environment"],
            ),
        },
        "monitoring": _obj(
            {
                "metricsPath": _str(
                    "Path Prometheus scrapes the service's metrics from.",
                    default="/metrics",
                    pattern=METRICS_PATH_PATTERN,
                    **{
                        "x-message": "must be an absolute URL path such as /metrics (letters, "
                        "digits, '.', '_', '~', '-' and '/'; no query, '//' or '..')"
                    },
                ),
                "scrapeIntervalSeconds": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 300,
                    "default": 15,
                    "description": "Seconds between scrapes (and between rule evaluations).",
                },
                "slo": _obj(
                    {
                        "availability": {
                            "type": "number",
                            "description": "Availability objective, percent of requests "
                            "answered without a 5xx (e.g. 99.9); enables burn-rate alerts.",
                            "exclusiveMinimum": 0,
                            "exclusiveMaximum": 100,
                        },
                        "latencyP95Ms": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 600000,
                            "description": "95th percentile latency objective, ms; enables the "
                            "latency alert.",
                        },
                    },
                    "Service level objectives.",
                    default={},
                ),
                "alerts": _obj(
                    {
                        "notify": _str(
                            "Receiver the service's alerts go to: a name declared in "
                            "monitoring.alerts.receivers (usually in the team's _defaults.yaml).",
                            pattern=NAME_PATTERN,
                            **{
                                "x-message": "must be a receiver name "
                                "(lowercase letters, digits, '-')"
                            },
                        ),
                        "receivers": {
                            "type": "object",
                            "description": "Declared alert receivers by name; each has an "
                            "e-mail address or a webhook URL (or both).",
                            "default": {},
                            "propertyNames": {
                                "pattern": NAME_PATTERN,
                                "x-name-message": "lowercase letters, digits and '-'",
                            },
                            "additionalProperties": _obj(
                                {
                                    "email": _str(
                                        "Address the alerts are mailed to.",
                                        pattern=r"^[^@\s]+@[^@\s]+$",
                                        **{"x-message": "must be an e-mail address"},
                                    ),
                                    "webhook": _str(
                                        "URL the alerts are posted to.",
                                        pattern=r"^https?://[^\s]+$",
                                        **{"x-message": "must be an http:// or https:// URL"},
                                    ),
                                },
                                "One receiver.",
                            ),
                        },
                        "runbookUrl": _str(
                            "Runbook each alert links to (runbook_url, with '#<alert>' added); "
                            "without it, the service repository's RUNBOOK.md.",
                            pattern=r"^https?://[^\s#]+$",
                            **{"x-message": "must be an http:// or https:// URL without '#'"},
                        ),
                    },
                    "Alert routing.",
                    default={},
                ),
            },
            "Monitoring: Prometheus scrape configs, alert rules and their tests, a Grafana "
            "dashboard and an Alertmanager route, rendered for services that deploy.",
            default={},
        ),
    },
}


def with_defaults(data: dict[str, Any], node: dict[str, Any] = SCHEMA) -> dict[str, Any]:
    """Validated ``data`` with every schema default filled in where a key is absent.

    A mapping that is absent but has a default (say ``runtime: {}``) is filled in turn, so the
    defaults of its keys apply too; a mapping without one (``image``) stays absent. ``data`` is
    left as it is; the result shares the values it did not have to fill, so read it only.
    """
    filled = _filled(data, node)
    assert isinstance(filled, dict)
    return filled


def _filled(value: Any, node: dict[str, Any]) -> Any:
    plan = _plan(node)
    if isinstance(value, list):
        items = plan.items
        if items is None:
            return value
        if not _plan(items).fills:  # each item stays itself: a new list of the same items
            return list(value)
        return [_filled(item, items) for item in value]
    if not isinstance(value, dict) or not plan.properties:
        return value
    out = dict(value)
    for key, child, fills, has_default, default, made in plan.properties:
        if key in out:
            if fills:  # a value its schema has nothing to fill in stays itself
                out[key] = _filled(out[key], child)
        elif made is not None:  # a new copy of the filled default, made in C
            out[key] = marshal.loads(made)
        elif has_default:
            out[key] = _filled_default(default, child)
    return out


def _filled_default(default: Any, child: dict[str, Any]) -> Any:
    """The default of an absent key, filled in turn: copied, as the schema's own {} and []
    must never be shared."""
    if isinstance(default, dict | list):
        default = copy.deepcopy(default) if default else type(default)()
    return _filled(default, child)


def _made(default: Any, child: dict[str, Any]) -> bytes | None:
    """A mapping's or list's filled default as ``marshal`` bytes, which ``marshal.loads``
    turns into a new copy each time (the same for every descriptor: worked out once, where
    filling it again for each one was half of validating a descriptor); None for a value used
    as it is, or one marshal cannot hold."""
    if not isinstance(default, dict | list):
        return None
    try:
        return marshal.dumps(_filled_default(default, child))
    except ValueError:  # pragma: no cover - schema defaults are JSON values
        return None


@dataclass(frozen=True, slots=True)
class _Plan:
    """What filling defaults does at one schema node, worked out once per node (a render
    fills thousands of descriptors against the same schema)."""

    node: dict[str, Any]  # held, so the id it is cached by is never reused
    items: dict[str, Any] | None  # the items schema, if it is a mapping
    # (key, its schema, whether filling can change a value there, has a default, the default,
    # the filled default as marshal bytes if it is a mapping or list) for the keys where
    # filling can change something or there is a default
    properties: tuple[tuple[str, dict[str, Any], bool, bool, Any, bytes | None], ...]
    fills: bool  # whether filling can change a value at this node at all


_PLANS: dict[int, _Plan] = {}


def _plan(node: dict[str, Any]) -> _Plan:
    plan = _PLANS.get(id(node))
    if plan is None or plan.node is not node:
        items = node.get("items")
        items = items if isinstance(items, dict) else None
        properties = node.get("properties") or {}
        # Only keys filling can change: a key without a default whose value has nothing to
        # fill is left as it is whether present or not, so it is not even looked at.
        entries = tuple(
            (key, child, fills, has_default, default, _made(default, child))
            for key, child, fills, has_default, default in (
                (key, child, _plan(child).fills, "default" in child, child.get("default"))
                for key, child in properties.items()
            )
            if fills or has_default
        )
        plan = _Plan(node, items, entries, bool(entries) or items is not None)
        _PLANS[id(node)] = plan
    return plan


# -- Deploy to Docker hosts (issue 10): companions, security, health gate, per-environment
# engine, network and proxy. One additive block so the base schema above stays untouched.
ABSOLUTE_PATH_PATTERN = r"^/(?!.*(^|/)\.\.(/|$))[A-Za-z0-9._/-]{0,255}$"
SUBNET_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$"
DOCKER_HOST_PATTERN = r"^(unix|ssh|tcp)://[^\s]{1,250}$"
DEFAULT_PROXY_IMAGE = "docker.io/library/nginx:1.26.2-alpine"
# Swarm keeps its lock and history in plain containers on the manager: they only run `true`.
DEFAULT_HELPER_IMAGE = "docker.io/library/busybox:1.36.1"

_argv = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "maxLength": 4096},
}


def _seconds(description: str, default: int, minimum: int = 1) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": minimum,
        "maximum": 3600,
        "default": default,
        "description": description,
    }


_container_healthcheck = _obj(
    {
        "command": {
            **_argv,
            "description": "Docker healthcheck run inside the container, as argv (no shell "
            "unless you name one); without it the image's own HEALTHCHECK is used.",
        },
        "intervalSeconds": _seconds("Seconds between checks.", 5),
        "timeoutSeconds": _seconds("Check timeout.", 2),
        "retries": _seconds("Failed checks before unhealthy.", 3),
        "startPeriodSeconds": _seconds("Grace period after start.", 10, minimum=0),
    },
    "Docker healthcheck of the container.",
)
_secrets = {
    "type": "array",
    "default": [],
    "description": "Secrets: the value comes from the environment variable of the same name "
    "(bound by withCredentials) and reaches only this container's environment.",
    "items": _obj(
        {
            "env": _str("Environment variable name.", pattern=IDENTIFIER_PATTERN),
            "credentialsId": _credentials_id,
        },
        "A secret injected from Jenkins credentials.",
        required=["env", "credentialsId"],
    ),
}
_env = {
    "type": "object",
    "default": {},
    "description": "Plain environment variables (never secrets).",
    "propertyNames": {"pattern": IDENTIFIER_PATTERN},
    "additionalProperties": {"type": ["string", "number", "boolean"]},
}
_absolute_path = _str(
    "Absolute path in the container.",
    pattern=ABSOLUTE_PATH_PATTERN,
    **{"x-message": "must be an absolute path in the container, e.g. /data"},
)

DEPLOY_RUNTIME_PROPERTIES: dict[str, Any] = {
    "stopTimeoutSeconds": _seconds("Seconds a stopping container gets before SIGKILL.", 10, 0),
    "security": _obj(
        {
            "noNewPrivileges": {
                "type": "boolean",
                "default": True,
                "description": "Processes cannot gain privileges (setuid).",
            },
            "user": _str(
                "User (name or uid[:gid]) the app runs as.",
                maxLength=64,
                pattern=r"^[A-Za-z0-9_.:-]+$",
            ),
            "readOnly": {
                "type": "boolean",
                "default": False,
                "description": "Read-only root filesystem (add tmpfs paths to write to).",
            },
            "tmpfs": {
                "type": "array",
                "default": [],
                "description": "Paths mounted as tmpfs.",
                "items": _absolute_path,
            },
            "capDrop": {
                "type": "array",
                "default": [],
                "description": "Capabilities to drop (e.g. ALL).",
                "items": _str("Capability.", pattern=r"^[A-Z_]{2,40}$"),
            },
            "capAdd": {
                "type": "array",
                "default": [],
                "description": "Capabilities to add.",
                "items": _str("Capability.", pattern=r"^[A-Z_]{2,40}$"),
            },
        },
        "Runtime security options of the app (companions get noNewPrivileges).",
        default={},
    ),
    "companions": {
        "type": "array",
        "default": [],
        "description": "Containers the app needs (a database, a cache): started first, kept "
        "across deploys while their spec is unchanged, reached by name.",
        "items": _obj(
            {
                "name": _str(
                    "Companion name; the app reaches it under this host name.",
                    pattern=NAME_PATTERN,
                    **{"x-message": "must be lowercase letters, digits or '-'"},
                ),
                "image": _str(
                    "Image reference.",
                    minLength=1,
                    maxLength=500,
                    pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$",
                ),
                "command": {**_argv, "description": "Command (argv) instead of the image's."},
                "env": _env,
                "secrets": _secrets,
                "volume": _obj(
                    {
                        "name": _str(
                            "Named volume (never deleted by a deploy).", pattern=NAME_PATTERN
                        ),
                        "path": _absolute_path,
                    },
                    "A named volume mounted in the companion.",
                    required=["name", "path"],
                ),
                "healthcheck": _container_healthcheck,
            },
            "One companion container.",
            required=["name", "image"],
        ),
    },
}
DEPLOY_HEALTHCHECK_PROPERTIES: dict[str, Any] = {
    "command": _container_healthcheck["properties"]["command"],
}
DEPLOY_STAGE_PROPERTIES: dict[str, Any] = {
    "host": _str(
        "Docker engine for this environment (unix://, ssh://user@host, tcp://); "
        "default $DOCKER_HOST.",
        pattern=DOCKER_HOST_PATTERN,
        **{"x-message": "must be unix://PATH, ssh://[user@]host[:port] or tcp://host:port"},
    ),
    "subnet": _str(
        "Subnet of the service network on the engine (default: a /24 allocated from "
        "subnetPool; without a pool the engine chooses).",
        pattern=SUBNET_PATTERN,
        **{"x-message": "must be an IPv4 CIDR, e.g. 198.18.7.0/24"},
    ),
    "subnetPool": _str(
        "Where the service network's /24 is allocated when subnet is not set: the first one "
        "no network on the engine overlaps, searched from a place fixed by the environment "
        "(an existing network keeps its subnet).",
        pattern=SUBNET_PATTERN,
        **{"x-message": "must be an IPv4 CIDR, e.g. 198.18.0.0/15"},
    ),
    "refusedSubnets": {
        "type": "array",
        "default": [],
        "description": "Ranges a deploy never puts the service network in (e.g. the office "
        "and VPN ranges an engine's default pools would take).",
        "items": _str(
            "IPv4 CIDR.",
            pattern=SUBNET_PATTERN,
            **{"x-message": "must be an IPv4 CIDR, e.g. 10.0.0.0/8"},
        ),
    },
    "helperImage": _str(
        "swarm: image of the lock and state containers (any image with `sh` and `mv`; the Docker "
        "host runs them from the proxy image it pulls anyway).",
        default=DEFAULT_HELPER_IMAGE,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$",
    ),
    "proxyImage": _str(
        "nginx image of the traffic-switching proxy.",
        default=DEFAULT_PROXY_IMAGE,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:@-]*$",
    ),
    "healthTimeoutSeconds": _seconds("Seconds the new version has to pass its health gate.", 60),
    "drainSeconds": _seconds("Seconds the old version keeps serving after the switch.", 2, 0),
    "preSwitch": {
        **_argv,
        "description": "Command (argv) run in a one-off container of the new image on the "
        "service network before traffic switches (e.g. a migration).",
    },
}
SCHEMA["properties"]["runtime"]["properties"].update(DEPLOY_RUNTIME_PROPERTIES)
SCHEMA["properties"]["runtime"]["properties"]["healthcheck"]["properties"].update(
    DEPLOY_HEALTHCHECK_PROPERTIES
)
SCHEMA["properties"]["deploy"]["items"]["properties"].update(DEPLOY_STAGE_PROPERTIES)
# Orchestrator targets (swarm; kubernetes reads replicas and the healthcheck too).
ORCHESTRATOR_STAGE_PROPERTIES: dict[str, Any] = {
    "network": {
        "enum": ["overlay", "host"],
        "default": "overlay",
        "description": "swarm: an overlay network with the listen port published (a real "
        "cluster), or the host's network (one host without the routing mesh; give each task "
        "its own port with a templated env value such as PORT=1808{{.Task.Slot}}).",
    },
    "updateOrder": {
        "enum": ["start-first", "stop-first"],
        "default": "stop-first",
        "description": "swarm: start the new task before stopping the old one, or after "
        "(network: host needs stop-first: two tasks cannot bind one port).",
    },
    "monitorSeconds": _seconds(
        "swarm: seconds Swarm watches each updated task before it counts as a success.", 5
    ),
    "namespace": _str(
        "kubernetes: namespace of the Deployment and Service.",
        default="default",
        pattern=NAME_PATTERN,
        **{"x-message": "must be lowercase letters, digits or '-'"},
    ),
    "secretName": _str(
        "kubernetes: the Secret the runtime secrets are read from (key: the credentials ID).",
        default="app-secrets",
        pattern=NAME_PATTERN,
        **{"x-message": "must be lowercase letters, digits or '-'"},
    ),
    "context": _str(
        "kubernetes: kubeconfig context (default: the current one).", minLength=1, maxLength=200
    ),
}
SCHEMA["properties"]["deploy"]["items"]["properties"].update(ORCHESTRATOR_STAGE_PROPERTIES)
SCHEMA["properties"]["runtime"]["properties"]["composeSubnet"] = _str(
    "Subnet of the service network in the rendered compose.yaml (local runs); without it "
    "the engine picks one.",
    pattern=SUBNET_PATTERN,
    **{"x-message": "must be an IPv4 CIDR, e.g. 198.18.7.0/24"},
)


# -- Per-environment overrides (issue 19): a deploy stage's ``runtime`` is merged over the
# top-level ``runtime`` once, at load time (``loading.merged_runtime``), and every consumer
# (deploy on each target, compose, Kubernetes, monitoring) reads that one result.
# A Swarm template in a value (``{{.Task.Slot}}``): Swarm expands it in a task's environment;
# everything else would pass it on literally, so validation allows it only there.
SWARM_TEMPLATE_PATTERN = r"\{\{[^}]*\}\}"
SWARM_SLOT = "{{.Task.Slot}}"
# Keys of ``runtime`` an environment may override, and of each companion (matched by name).
RUNTIME_OVERRIDE_KEYS = ("port", "env", "secrets", "resources", "healthcheck", "companions")
HEALTHCHECK_OVERRIDE_KEYS = (
    "path",
    "intervalSeconds",
    "timeoutSeconds",
    "retries",
    "startPeriodSeconds",
)
COMPANION_OVERRIDE_KEYS = ("name", "image", "command", "env", "secrets")
DEFAULT_VOLUME_SIZE = "1Gi"


def _without_defaults(node: Any) -> Any:
    """A copy of a schema node with every ``default`` removed: an override sets only what it
    says, so nothing may be filled into it."""
    if isinstance(node, dict):
        return {k: _without_defaults(v) for k, v in node.items() if k != "default"}
    if isinstance(node, list):
        return [_without_defaults(v) for v in node]
    return node


def _override_env() -> dict[str, Any]:
    env: dict[str, Any] = _without_defaults(_env)
    env["additionalProperties"] = {"type": ["string", "number", "boolean", "null"]}
    env["description"] = (
        "Environment variables merged over runtime.env key by key (null removes one); "
        "a Swarm template such as {{.Task.Slot}} is allowed in a swarm environment only."
    )
    return env


def _runtime_override() -> dict[str, Any]:
    runtime = SCHEMA["properties"]["runtime"]["properties"]
    health = runtime["healthcheck"]["properties"]
    companion = runtime["companions"]["items"]["properties"]
    companion_override = _obj(
        {k: _without_defaults(companion[k]) for k in COMPANION_OVERRIDE_KEYS}
        | {"env": _override_env()},
        "Settings of the companion of this name (it must be declared in runtime.companions).",
        required=["name"],
    )
    return _obj(
        {
            "port": _without_defaults(runtime["port"]),
            "env": _override_env(),
            "secrets": {
                **_without_defaults(runtime["secrets"]),
                "description": "Secrets merged over runtime.secrets by env name.",
            },
            "resources": _without_defaults(runtime["resources"]),
            "healthcheck": _obj(
                {k: _without_defaults(health[k]) for k in HEALTHCHECK_OVERRIDE_KEYS},
                "Health check settings merged over runtime.healthcheck.",
            ),
            "companions": {
                "type": "array",
                "description": "Companion settings merged over runtime.companions by name.",
                "items": companion_override,
            },
        },
        "This environment's runtime settings, merged over the top-level runtime: env, "
        "healthcheck and resources key by key, secrets by env, companions by name; port "
        "replaces.",
    )


SCHEMA["properties"]["deploy"]["items"]["properties"]["runtime"] = _runtime_override()
# Kubernetes needs what Docker does not: the port a companion's Service exposes, the size of a
# named volume's claim, and the pod security settings (on where the descriptor allows).
SCHEMA["properties"]["runtime"]["properties"]["companions"]["items"]["properties"]["port"] = {
    "type": "integer",
    "minimum": 1,
    "maximum": 65535,
    "description": "Port the companion listens on (kubernetes: its Service's port; required "
    "there).",
}
SCHEMA["properties"]["runtime"]["properties"]["companions"]["items"]["properties"]["volume"][
    "properties"
]["size"] = _str(
    "kubernetes: storage the volume's PersistentVolumeClaim requests.",
    default=DEFAULT_VOLUME_SIZE,
    pattern=MEMORY_PATTERN,
    **{"x-message": "must be a size like 1Gi"},
)
SCHEMA["properties"]["deploy"]["items"]["properties"]["podSecurity"] = _obj(
    {
        "runAsNonRoot": {
            "type": "boolean",
            "description": "kubernetes: refuse to start as root (default: on when "
            "runtime.security.user is a non-zero uid, the one case the kubelet can verify).",
        },
        "seccompProfile": {
            "enum": ["RuntimeDefault", "Unconfined"],
            "default": "RuntimeDefault",
            "description": "kubernetes: the pod's seccomp profile.",
        },
        "readOnlyRootFilesystem": {
            "type": "boolean",
            "description": "kubernetes: read-only root filesystem (default: "
            "runtime.security.readOnly; tmpfs paths become emptyDir volumes).",
        },
    },
    "kubernetes: the pod security settings, each overridable.",
    default={},
)


# -- Progressive delivery (issue 22): ``strategy: canary`` sends the new version a growing share
# of real traffic and judges it at every step (deploy/canary/analysis.py). The thresholds come
# from monitoring.slo unless overridden; the defaults live here like every other.
DEFAULT_CANARY_STEPS = [10, 50, 100]
# The burn rate of the fast-burn page (render/monitoring/rules.py): a canary may spend the error
# budget no faster than the pace that would page someone.
DEFAULT_CANARY_BURN_RATE = 14.4
SCHEMA["properties"]["deploy"]["items"]["properties"]["canary"] = _obj(
    {
        "steps": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "default": DEFAULT_CANARY_STEPS,
            "description": "Percent of requests the new version gets at each step, ascending; "
            "the last is 100 (the promotion).",
            "items": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        "intervalSeconds": _seconds(
            "Seconds each step is held before its requests are judged.", 60
        ),
        "minRequests": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000000,
            "default": 50,
            "description": "Requests the new version must have answered in a step before the "
            "step can pass (fewer: the step waits once more, then fails as inconclusive).",
        },
        "maxErrorRatio": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "Highest share of the new version's answers that may be 5xx, e.g. "
            "0.01 (default: maxBurnRate x the error budget of monitoring.slo.availability).",
        },
        "maxBurnRate": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1000,
            "default": DEFAULT_CANARY_BURN_RATE,
            "description": "How many times faster than the SLO allows the new version may "
            "spend the error budget (the default is the fast-burn page's rate); used when "
            "maxErrorRatio is not set.",
        },
        "maxP95Ms": {
            "type": "integer",
            "minimum": 1,
            "maximum": 600000,
            "description": "Highest p95 latency of the new version, ms (default: "
            "monitoring.slo.latencyP95Ms; without either, latency is not judged).",
        },
        "prometheus": _str(
            "Prometheus base URL the analysis queries (the generated recording rules, by "
            "version) instead of the proxy's request log.",
            pattern=r"^https?://[^\s]+$",
            maxLength=2000,
            **{"x-message": "must be an http:// or https:// URL"},
        ),
    },
    "strategy canary: the traffic steps and the thresholds each step is judged by.",
    default={},
)
