"""Names of the objects one (team, service, environment) owns on an engine or a cluster.

The one naming function: deploy creates these objects and render (Compose, Kubernetes,
monitoring) refers to them, so both import it from here.

``jb-<team>-<name>-<env>`` alone is ambiguous (team ``a``, name ``b-c`` and team ``a-b``,
name ``c`` give the same text), so every base name ends in a digest of the exact triple,
joined with ``/``, which none of the three may contain. The readable prefix is for people;
the digest is what keeps two services apart. Base names stay short enough that every
suffix below fits a DNS label (63 characters): Swarm service and secret names and
Kubernetes object names are DNS labels; Docker container, network and volume names accept
the same characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "jb"
DNS_LABEL_MAX = 63
DIGEST_CHARS = 10  # 40 bits of the triple's sha256
# Leaves 23 characters of a DNS label for the suffixes ("-app-NNNNNN", "-proxy", ...).
BASE_MAX = 40
# Names the deploy gives its own objects after ``<base>-``: a companion or a volume of that
# name would be the same object (validation refuses them, see ``reserved_suffix``).
RESERVED_SUFFIXES = ("proxy", "state", "lock")
RESERVED_NUMBERED = re.compile(r"^(app|hook|exec)-[0-9]+$")
# What a companion's container is renamed to while a change replaces it (``<name>-previous``,
# the working one set aside) or after the new one failed (``<name>-failed``): a companion
# named so would be another's set-aside container (``set_aside_suffix``).
SET_ASIDE_SUFFIXES = ("-previous", "-failed")


def _digest(text: str, chars: int) -> str:
    import hashlib  # ~11 M instructions (OpenSSL): only names of deployed objects need it

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:chars]


def owner_digest(team: str, name: str, environment: str) -> str:
    """A short digest of the exact (team, name, environment)."""
    return _digest(f"{team}/{name}/{environment}", DIGEST_CHARS)


def object_base(team: str, name: str, environment: str) -> str:
    """``jb-<team>-<name>-<env>`` cut to fit, then ``-<digest of the triple>``."""
    readable = f"{PREFIX}-{team}-{name}-{environment}"[: BASE_MAX - DIGEST_CHARS - 1]
    return f"{readable.rstrip('-')}-{owner_digest(team, name, environment)}"


def legacy_base(team: str, name: str, environment: str) -> str:
    """The base name earlier releases used (ambiguous): deploy adopts objects found under it
    only when their owner labels name this exact (team, name, environment)."""
    return f"{PREFIX}-{team}-{name}-{environment}"


def fit(text: str, limit: int = DNS_LABEL_MAX) -> str:
    """``text`` when it fits ``limit``, else its cut prefix and a digest of the whole text
    (two texts that differ keep differing)."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 9].rstrip('-')}-{_digest(text, 8)}"


def set_aside_suffix(name: str) -> str | None:
    """The set-aside suffix a companion called ``name`` ends in (its container would be the
    one a change of companion ``name`` minus the suffix sets aside), or None."""
    return next((s for s in SET_ASIDE_SUFFIXES if name.endswith(s)), None)


def reserved_suffix(name: str) -> bool:
    """Whether a companion or volume called ``name`` would take one of the deploy's own names."""
    return name in RESERVED_SUFFIXES or RESERVED_NUMBERED.match(name) is not None


@dataclass(frozen=True, slots=True)
class ObjectNames:
    """Names of everything one service environment owns on an engine."""

    base: str
    legacy_names: bool = False  # adopted from an earlier release: names as it made them

    @classmethod
    def of(cls, team: str, name: str, environment: str) -> ObjectNames:
        return cls(object_base(team, name, environment))

    @classmethod
    def legacy(cls, team: str, name: str, environment: str) -> ObjectNames:
        return cls(legacy_base(team, name, environment), legacy_names=True)

    def _fit(self, text: str) -> str:
        return text if self.legacy_names else fit(text)

    @property
    def network(self) -> str:
        return self.base

    @property
    def proxy(self) -> str:
        return f"{self.base}-proxy"

    @property
    def state(self) -> str:
        return f"{self.base}-state"

    @property
    def lock(self) -> str:
        return f"{self.base}-lock"

    def app(self, seq: int) -> str:
        return f"{self.base}-app-{seq}"

    def companion(self, name: str) -> str:
        return self._fit(f"{self.base}-{name}")

    def volume(self, name: str) -> str:
        return self._fit(f"{self.base}-{name}")

    def hook(self, seq: int) -> str:
        return f"{self.base}-hook-{seq}"

    def exec(self, pid: int) -> str:
        return f"{self.base}-exec-{pid}"

    def secret(self, env: str, version: str) -> str:
        """A Swarm secret's name: the variable and a version that says nothing of the value."""
        return fit(f"{self.base}-{env.lower().replace('_', '-')}-{version}")


# Environment variables the pipeline steps (vars/, src/), the CLI or the deploy set or read:
# a secret bound under one of these names (withCredentials replaces the variable inside its
# block) would change what the steps run or where the deploy goes.
RESERVED_VARIABLE_PREFIXES = ("BRIDGE_", "JENKINS_BRIDGE_", "LD_", "DOCKER_", "PYTHON")
RESERVED_VARIABLES = frozenset(
    {
        "PATH", "HOME", "SHELL", "USER", "PWD", "TMPDIR", "LANG", "LC_ALL", "IFS",
        "VIRTUAL_ENV", "KUBECONFIG", "SSH_AUTH_SOCK", "PORT",
        "BUILD_URL", "BUILD_NUMBER", "BUILD_ID", "BUILD_TAG", "JOB_NAME", "JOB_URL",
        "JENKINS_URL", "JENKINS_HOME", "JENKINS_TOKEN", "NODE_NAME", "EXECUTOR_NUMBER",
        "WORKSPACE", "GIT_COMMIT", "GIT_BRANCH", "BRANCH_NAME",
        "REGISTRY_USER", "REGISTRY_PASSWORD",
    }
)  # fmt: skip


def reserved_variable(name: str) -> bool:
    """Whether a secret may not be bound as the environment variable ``name``."""
    return name in RESERVED_VARIABLES or name.startswith(RESERVED_VARIABLE_PREFIXES)
