"""One Kubernetes cluster through the official client: server-side apply, Deployment and
ReplicaSet state as typed values, a rollback to a ReplicaSet's pod template, Secret keys.

Everything the deploy logic decides on goes through ``deployment_state`` and ``replica_set``,
which read the client's own model objects (``V1Deployment``, ``V1ReplicaSet``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from jenkins_bridge.errors import BridgeError

FIELD_MANAGER = "jenkins-bridge"
# The history annotation has its own field manager: the deploy's apply leaves it alone.
HISTORY_MANAGER = "jenkins-bridge-history"
REVISION = "deployment.kubernetes.io/revision"
# ``restart`` owns one pod template annotation (``kubectl rollout restart``'s), under its own
# field manager, so the deploy's apply neither drops nor fights it.
RESTART_MANAGER = "jenkins-bridge-restart"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class ClusterUnreachable(BridgeError):
    code = "cluster-unreachable"


class ClusterRefused(BridgeError):
    code = "cluster-refused"


@dataclass(frozen=True, slots=True)
class DeploymentState:
    generation: int
    observed_generation: int
    replicas: int  # desired
    updated: int
    ready: int
    available: int
    revision: int
    image: str
    stalled: str | None  # the Progressing condition's message once the deadline passed
    annotations: Mapping[str, str] = field(default_factory=dict)

    def converged(self) -> bool:
        return (
            self.observed_generation >= self.generation
            and self.updated == self.replicas
            and self.available == self.replicas
            and self.ready == self.replicas
        )


@dataclass(frozen=True, slots=True)
class ReplicaSetState:
    name: str
    revision: int
    image: str
    template: Mapping[str, Any]  # the pod template as the API serialises it


def deployment_state(obj: Any) -> DeploymentState:
    """A ``V1Deployment`` as the rollout logic sees it."""
    status = obj.status
    stalled = None
    for condition in (status.conditions if status else None) or []:
        if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
            stalled = condition.message or condition.reason
    annotations = obj.metadata.annotations or {}
    containers = obj.spec.template.spec.containers
    return DeploymentState(
        generation=int(obj.metadata.generation or 0),
        observed_generation=int((status.observed_generation if status else 0) or 0),
        replicas=int(obj.spec.replicas if obj.spec.replicas is not None else 1),
        updated=int((status.updated_replicas if status else 0) or 0),
        ready=int((status.ready_replicas if status else 0) or 0),
        available=int((status.available_replicas if status else 0) or 0),
        revision=int(annotations.get(REVISION, "0")),
        image=str(containers[0].image) if containers else "",
        stalled=stalled,
        annotations=dict(annotations),
    )


# The client call that applies each kind the manifests hold: (our attribute, its method).
_APPLY = {
    "Deployment": ("apps", "patch_namespaced_deployment"),
    "Service": ("core", "patch_namespaced_service"),
    "PersistentVolumeClaim": ("core", "patch_namespaced_persistent_volume_claim"),
    "PodDisruptionBudget": ("policy", "patch_namespaced_pod_disruption_budget"),
    "ConfigMap": ("core", "patch_namespaced_config_map"),
}
# The calls that read and delete each kind: (our attribute, the method's name after its verb).
_KINDS = {
    "Deployment": ("apps", "namespaced_deployment"),
    "Service": ("core", "namespaced_service"),
    "PersistentVolumeClaim": ("core", "namespaced_persistent_volume_claim"),
    "PodDisruptionBudget": ("policy", "namespaced_pod_disruption_budget"),
    "ConfigMap": ("core", "namespaced_config_map"),
}


class Cluster:
    """Calls to one cluster; ``apps``/``core`` are the client's ``AppsV1Api``/``CoreV1Api``."""

    def __init__(
        self,
        apps: Any,
        core: Any,
        serialize: Any,
        context: str,
        coordination: Any = None,
        policy: Any = None,
    ) -> None:
        self.apps = apps
        self.core = core
        self.serialize = serialize
        self.context = context
        self.coordination = coordination  # CoordinationV1Api: the deploy lock's Leases
        self.policy = policy  # PolicyV1Api: the app's PodDisruptionBudget

    @classmethod
    def connect(cls, context: str | None) -> Cluster:
        """Load the kubeconfig (``KUBECONFIG`` or ~/.kube/config) and ask the server's version."""
        try:
            from kubernetes import client, config
        except ImportError as exc:
            raise ClusterUnreachable(
                "the kubernetes client is not installed",
                hint="pip install 'jenkins-bridge[kubernetes]'",
            ) from exc
        shown = context or "the current context"
        try:
            api_client = cast(Any, config).new_client_from_config(context=context)
            client.VersionApi(api_client).get_code(_request_timeout=10)
        except Exception as exc:  # config errors, urllib3 errors, ApiException
            words = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
            raise ClusterUnreachable(
                f"Kubernetes {shown} cannot be reached: {words}; nothing was changed",
                hint="check KUBECONFIG and deploy[].context (kubectl --context ... version)",
            ) from exc
        return cls(
            client.AppsV1Api(api_client),
            client.CoreV1Api(api_client),
            api_client.sanitize_for_serialization,
            shown,
            client.CoordinationV1Api(api_client),
            client.PolicyV1Api(api_client),
        )

    def _call(self, action: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status == 404:
                return None
            reason = getattr(exc, "reason", None) or str(exc).splitlines()[0][:300]
            raise ClusterRefused(f"{action} failed on {self.context}: {status} {reason}") from exc

    def deployment(self, name: str, namespace: str) -> DeploymentState | None:
        found = self._call(
            f"reading deployment {namespace}/{name}",
            self.apps.read_namespaced_deployment,
            name,
            namespace,
        )
        return None if found is None else deployment_state(found)

    def apply(self, manifest: Mapping[str, Any], manager: str = FIELD_MANAGER) -> None:
        """Server-side apply (this tool owns the fields it sets; conflicts are forced)."""
        meta = manifest["metadata"]
        api, method = _APPLY[manifest["kind"]]
        function = getattr(getattr(self, api), method)
        self._call(
            f"applying {manifest['kind']} {meta['namespace']}/{meta['name']}",
            function,
            meta["name"],
            meta["namespace"],
            dict(manifest),
            field_manager=manager,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    def replica_sets(self, namespace: str, selector: Mapping[str, str]) -> list[ReplicaSetState]:
        label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
        found = self._call(
            f"listing replica sets in {namespace}",
            self.apps.list_namespaced_replica_set,
            namespace,
            label_selector=label_selector,
        )
        sets = []
        for item in found.items if found is not None else []:
            annotations = item.metadata.annotations or {}
            template = self.serialize(item.spec.template)
            labels = dict(template.get("metadata", {}).get("labels") or {})
            labels.pop("pod-template-hash", None)
            template.setdefault("metadata", {})["labels"] = labels
            containers = item.spec.template.spec.containers
            sets.append(
                ReplicaSetState(
                    name=str(item.metadata.name),
                    revision=int(annotations.get(REVISION, "0")),
                    image=str(containers[0].image) if containers else "",
                    template=template,
                )
            )
        return sorted(sets, key=lambda s: s.revision)

    def secret_keys(self, name: str, namespace: str) -> set[str] | None:
        found = self._call(
            f"reading secret {namespace}/{name}", self.core.read_namespaced_secret, name, namespace
        )
        return None if found is None else set((found.data or {}).keys())

    def annotate_deployment(
        self, name: str, namespace: str, annotations: Mapping[str, str]
    ) -> None:
        """Set annotations on an existing Deployment under the history field manager."""
        self.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            },
            manager=HISTORY_MANAGER,
        )

    def create_lease(
        self, name: str, namespace: str, annotations: Mapping[str, str], holder: str
    ) -> str | None:
        """Create the Lease ``name``: its uid, or None when it exists (409 Conflict)."""
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations)},
            "spec": {"holderIdentity": holder},
        }
        try:
            created = self.coordination.create_namespaced_lease(namespace, body)
        except Exception as exc:
            if getattr(exc, "status", None) == 409:
                return None
            reason = getattr(exc, "reason", None) or str(exc).splitlines()[0][:300]
            raise ClusterRefused(
                f"creating lease {namespace}/{name} failed on {self.context}: "
                f"{getattr(exc, 'status', None)} {reason}"
            ) from exc
        return str(created.metadata.uid)

    def lease(self, name: str, namespace: str) -> tuple[str, dict[str, str]] | None:
        """The Lease's uid and annotations, or None when there is none."""
        found = self._call(
            f"reading lease {namespace}/{name}",
            self.coordination.read_namespaced_lease,
            name,
            namespace,
        )
        if found is None:
            return None
        return str(found.metadata.uid), dict(found.metadata.annotations or {})

    def delete_lease(self, name: str, namespace: str) -> None:
        self._call(
            f"deleting lease {namespace}/{name}",
            self.coordination.delete_namespaced_lease,
            name,
            namespace,
        )

    def read(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """The live object as the API serialises it; None when there is none."""
        api, method = _KINDS[kind]
        found = self._call(
            f"reading {kind} {namespace}/{name}",
            getattr(getattr(self, api), f"read_{method}"),
            name,
            namespace,
        )
        return None if found is None else dict(self.serialize(found))

    def apply_dry_run(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """What a server-side apply of ``manifest`` would make of the object (``dryRun=All``:
        admission and defaults run, nothing is stored)."""
        meta = manifest["metadata"]
        api, method = _APPLY[manifest["kind"]]
        made = self._call(
            f"dry-run applying {manifest['kind']} {meta['namespace']}/{meta['name']}",
            getattr(getattr(self, api), method),
            meta["name"],
            meta["namespace"],
            dict(manifest),
            field_manager=FIELD_MANAGER,
            force=True,
            dry_run="All",
            _content_type="application/apply-patch+yaml",
        )
        return {} if made is None else dict(self.serialize(made))

    def delete(self, kind: str, name: str, namespace: str) -> bool:
        """Delete the object (what it owns goes in the background); False when it was not
        there."""
        api, method = _KINDS[kind]
        done = self._call(
            f"deleting {kind} {namespace}/{name}",
            getattr(getattr(self, api), f"delete_{method}"),
            name,
            namespace,
            propagation_policy="Background",
        )
        return done is not None

    def restart_deployment(self, name: str, namespace: str, moment: str) -> None:
        """``kubectl rollout restart``: a new pod template annotation, so every pod is
        replaced by the Deployment's own rolling update (the spec is otherwise unchanged)."""
        self.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: moment}}}},
            },
            manager=RESTART_MANAGER,
        )
