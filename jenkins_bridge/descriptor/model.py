"""The typed service descriptor (v1): what every renderer and capability reads.

Built only from validated data by ``loading.build_service``, after ``schema.with_defaults``
filled in the schema's defaults: the model has none of its own, so every field is given.
``None`` means "not set" for the keys the schema gives no default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

# image build and push read it without the rest of the model (see descriptor.image)
from jenkins_bridge.descriptor.image import ImageSpec as ImageSpec


@dataclass(frozen=True, slots=True)
class Metadata:
    name: str
    team: str
    description: str
    owners: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Source:
    repo: str
    branch: str
    credentials_id: str | None
    jenkinsfile: str
    descriptor: str


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str  # string | text | boolean | choice
    default: str | bool | None
    description: str
    choices: tuple[str, ...]

    @property
    def ordered_choices(self) -> tuple[str, ...]:
        """The choices with the default first: Jenkins' choice parameter (and declarative's
        ``choice()``) has no default of its own, the first choice is it."""
        if isinstance(self.default, str) and self.default in self.choices:
            at = self.choices.index(self.default)
            return (self.default, *self.choices[:at], *self.choices[at + 1 :])
        return self.choices


@dataclass(frozen=True, slots=True)
class TestStep:
    name: str
    run: str


@dataclass(frozen=True, slots=True)
class Triggers:
    poll: str | None
    cron: str | None


@dataclass(frozen=True, slots=True)
class Notify:
    email: str | None


@dataclass(frozen=True, slots=True)
class PipelineSpec:
    job_type: str  # pipeline | multibranch
    agent: str
    timeout_minutes: int
    keep_builds: int
    triggers: Triggers
    parameters: tuple[Parameter, ...]
    test: tuple[TestStep, ...]
    notify: Notify
    library: str  # shared library reference, name@version


@dataclass(frozen=True, slots=True)
class Secret:
    env: str
    credentials_id: str


@dataclass(frozen=True, slots=True)
class Healthcheck:
    path: str
    interval_seconds: int
    timeout_seconds: int
    retries: int
    start_period_seconds: int
    command: tuple[str, ...]  # Docker healthcheck argv; () uses the image's HEALTHCHECK


@dataclass(frozen=True, slots=True)
class Resources:
    cpus: float | None
    memory: str | None


@dataclass(frozen=True, slots=True)
class SecurityOptions:
    no_new_privileges: bool
    user: str | None
    read_only: bool
    tmpfs: tuple[str, ...]
    cap_drop: tuple[str, ...]
    cap_add: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VolumeMount:
    name: str
    path: str
    size: str  # kubernetes: the PersistentVolumeClaim's request


@dataclass(frozen=True, slots=True)
class Companion:
    name: str
    image: str
    command: tuple[str, ...]
    env: Mapping[str, str]
    secrets: tuple[Secret, ...]
    volume: VolumeMount | None
    healthcheck: Healthcheck | None
    port: int | None  # kubernetes: the companion Service's port


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    port: int
    env: Mapping[str, str]
    secrets: tuple[Secret, ...]
    healthcheck: Healthcheck
    restart: str
    resources: Resources
    stop_timeout_seconds: int
    security: SecurityOptions
    companions: tuple[Companion, ...]
    compose_subnet: str | None  # the service network of the rendered compose.yaml


@dataclass(frozen=True, slots=True)
class Approval:
    submitter: str | None
    message: str
    timeout_minutes: int  # the wait expires after it


@dataclass(frozen=True, slots=True)
class PodSecurity:
    """kubernetes: the pod security settings, defaults already decided from the runtime."""

    run_as_non_root: bool
    seccomp_profile: str  # RuntimeDefault | Unconfined
    read_only_root_filesystem: bool


@dataclass(frozen=True, slots=True)
class CanarySpec:
    """strategy canary: the traffic steps and the threshold overrides (``None``: derived from
    ``monitoring.slo``, see ``deploy/canary/analysis.Thresholds.for_service``)."""

    steps: tuple[int, ...]  # percent of requests to the new version, ascending, last 100
    interval_seconds: int
    min_requests: int
    max_error_ratio: float | None
    max_burn_rate: float
    max_p95_ms: int | None
    prometheus: str | None  # base URL; None: the proxy's request log


@dataclass(frozen=True, slots=True)
class DeployStage:
    environment: str
    target: str  # docker | swarm | kubernetes
    strategy: str  # recreate | blue-green | rolling | canary
    listen: str | None
    replicas: int
    approval: Approval | None
    host: str | None  # Docker engine; None means $DOCKER_HOST
    subnet: str | None
    subnet_pool: str | None  # where a subnet is allocated when none is set
    refused_subnets: tuple[str, ...]
    proxy_image: str
    helper_image: str  # swarm: the lock and state containers
    health_timeout_seconds: int
    drain_seconds: int
    pre_switch: tuple[str, ...]
    network: str  # swarm: overlay | host
    update_order: str  # swarm: start-first | stop-first
    monitor_seconds: int  # swarm: update monitor
    namespace: str  # kubernetes
    secret_name: str  # kubernetes: the Secret the runtime secrets come from
    context: str | None  # kubernetes: kubeconfig context; None is the current one
    # The top-level runtime with this environment's overrides merged in (the one merge,
    # done at load time): what deploy, compose, Kubernetes and monitoring read for it.
    runtime: RuntimeSpec
    pod_security: PodSecurity
    canary: CanarySpec  # read by strategy canary only


@dataclass(frozen=True, slots=True)
class Slo:
    availability: float | None
    latency_p95_ms: int | None


@dataclass(frozen=True, slots=True)
class Receiver:
    """An alert receiver a descriptor (or its team's ``_defaults.yaml``) declares."""

    name: str
    email: str | None
    webhook: str | None


@dataclass(frozen=True, slots=True)
class Monitoring:
    metrics_path: str
    scrape_interval_seconds: int
    slo: Slo
    alerts_notify: str | None  # one of ``receivers`` (validation checks it)
    receivers: tuple[Receiver, ...]  # in name order
    runbook_url: str | None


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
    # The merged descriptor data (team defaults applied, schema defaults not) as canonical
    # ASCII JSON: what the generated pipeline hands the CLI, so a build runs with render's values.
    resolved: str

    def runtime_for(self, stage: DeployStage) -> RuntimeSpec:
        """The runtime ``stage`` runs: the top-level one with its overrides merged in."""
        return stage.runtime

    def for_environment(self, stage: DeployStage) -> Service:
        """This service as ``stage`` runs it: ``runtime`` is the environment's merged one, so
        code that reads ``service.runtime`` for one environment reads the right values."""
        return replace(self, runtime=stage.runtime)

    @property
    def full_name(self) -> str:
        """The Jenkins full name of the job: ``<team>/<name>``."""
        return f"{self.metadata.team}/{self.metadata.name}"
