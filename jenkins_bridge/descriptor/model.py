"""The typed service descriptor (v1): what every renderer and capability reads.

Built only from validated data (see ``descriptor.build``); all defaults live in the schema,
so the model has no optional-with-hidden-default surprises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

API_VERSION = "jenkins-bridge/v1"
KIND = "Service"


@dataclass(frozen=True, slots=True)
class Metadata:
    name: str
    team: str
    description: str = ""
    owners: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    repo: str
    branch: str = "main"
    credentials_id: str | None = None
    jenkinsfile: str = "Jenkinsfile"
    descriptor: str = "jenkins-bridge.yaml"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str  # string | text | boolean | choice
    default: str | bool | None = None
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TestStep:
    name: str
    run: str


@dataclass(frozen=True, slots=True)
class Triggers:
    poll: str | None = None
    cron: str | None = None


@dataclass(frozen=True, slots=True)
class Notify:
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    job_type: str = "pipeline"  # pipeline | multibranch
    agent: str = "any"
    timeout_minutes: int = 60
    keep_builds: int = 20
    triggers: Triggers = field(default_factory=Triggers)
    parameters: tuple[Parameter, ...] = ()
    test: tuple[TestStep, ...] = ()
    notify: Notify = field(default_factory=Notify)
    library: str = ""  # shared library reference, "jenkins-bridge@<version>" by default


@dataclass(frozen=True, slots=True)
class ImageSpec:
    repository: str
    credentials_id: str | None = None
    context: str = "."
    dockerfile: str = "Dockerfile"
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Secret:
    env: str
    credentials_id: str


@dataclass(frozen=True, slots=True)
class Healthcheck:
    path: str = "/healthz"
    interval_seconds: int = 5
    timeout_seconds: int = 2
    retries: int = 3
    start_period_seconds: int = 10
    command: tuple[str, ...] = ()  # Docker healthcheck argv; () uses the image's HEALTHCHECK


@dataclass(frozen=True, slots=True)
class Resources:
    cpus: float | None = None
    memory: str | None = None


@dataclass(frozen=True, slots=True)
class SecurityOptions:
    no_new_privileges: bool = True
    user: str | None = None
    read_only: bool = False
    tmpfs: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VolumeMount:
    name: str
    path: str


@dataclass(frozen=True, slots=True)
class Companion:
    name: str
    image: str
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[Secret, ...] = ()
    volume: VolumeMount | None = None
    healthcheck: Healthcheck | None = None


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    port: int = 8080
    env: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[Secret, ...] = ()
    healthcheck: Healthcheck = field(default_factory=Healthcheck)
    restart: str = "on-failure"
    resources: Resources = field(default_factory=Resources)
    stop_timeout_seconds: int = 10
    security: SecurityOptions = field(default_factory=SecurityOptions)
    companions: tuple[Companion, ...] = ()


@dataclass(frozen=True, slots=True)
class Approval:
    submitter: str | None = None
    message: str = ""
    timeout_minutes: int = 1440  # the schema's default; the wait expires after it


@dataclass(frozen=True, slots=True)
class DeployStage:
    environment: str
    target: str = "docker"  # docker | swarm | kubernetes
    strategy: str = "rolling"  # recreate | blue-green | rolling
    listen: str | None = None
    replicas: int = 1
    approval: Approval | None = None
    host: str | None = None  # Docker engine; None means $DOCKER_HOST
    subnet: str | None = None
    proxy_image: str = ""
    health_timeout_seconds: int = 60
    drain_seconds: int = 2
    pre_switch: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Slo:
    availability: float | None = None
    latency_p95_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Monitoring:
    metrics_path: str = "/metrics"
    slo: Slo = field(default_factory=Slo)
    alerts_notify: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """One validated service descriptor, with where it came from."""

    metadata: Metadata
    source: Source
    pipeline: PipelineSpec
    image: ImageSpec | None
    runtime: RuntimeSpec
    deploy: tuple[DeployStage, ...]
    monitoring: Monitoring
    path: Path  # the descriptor file as given on the command line
    origin: str  # stable, machine-independent name of the file (relative to the PATH argument)
    digest: str  # sha256 of the merged, canonical descriptor data

    @property
    def full_name(self) -> str:
        """The Jenkins full name of the job: ``<team>/<name>``."""
        return f"{self.metadata.team}/{self.metadata.name}"
