"""Every rendered file agrees with the others and with what deploy runs, file against file:
descriptors rendered with every target, then names, namespaces, ports, paths, selectors,
receivers and volumes cross-checked — the scrape jobs against deploy's own target resolution
(Swarm service name, task ports, listen address), the Kubernetes objects against each other
and the scrape job, compose against the runtime, the alert route against the receivers.
Each file alone passes its linter; these checks are about what they point at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from jenkins_bridge.deploy.kubernetes import resolve_kubernetes_target
from jenkins_bridge.deploy.swarm.target import resolve_swarm_target, task_ports
from jenkins_bridge.deploy.target import resolve_target
from jenkins_bridge.descriptor.loading import load_services
from jenkins_bridge.descriptor.model import DeployStage, Service
from jenkins_bridge.output.run import render_run

GOLDEN = Path(__file__).resolve().parents[1] / "golden"

# Every target, both Swarm networks, companions with and without volumes, receivers, a
# non-default Kubernetes namespace and per-environment overrides.
EVERY_TARGET = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: shop-api, team: shop}
source: {repo: https://git.example.com/shop/api.git}
image: {repository: registry.example.com/shop/api}
runtime:
  port: 8090
  env: {STORE_URL: "http://store:6000", CACHE_URL: "http://cache:6379"}
  secrets: [{env: DB_PASSWORD, credentialsId: shop-db}]
  healthcheck: {path: /ready}
  companions:
    - name: store
      image: registry.example.com/shop/store:1
      port: 6000
      volume: {name: store-data, path: /data}
    - {name: cache, image: registry.example.com/library/redis:7, port: 6379}
deploy:
  - {environment: dev, target: docker, listen: "127.0.0.1:18190"}
  - environment: staging
    target: swarm
    listen: "0.0.0.0:18191"
    replicas: 2
  - environment: edge
    target: swarm
    network: host
    replicas: 3
    runtime: {env: {PORT: "1819{{.Task.Slot}}"}}
  - environment: production
    target: kubernetes
    namespace: shop-prod
    replicas: 3
    runtime: {port: 9000, env: {LOG_LEVEL: warn}}
monitoring:
  metricsPath: /internal/metrics
  alerts:
    notify: oncall
    receivers: {oncall: {email: oncall@example.com}}
"""


def _cases(tmp_path: Path) -> list[Path]:
    every = tmp_path / "every" / "shop-api.yaml"
    every.parent.mkdir()
    every.write_text(EVERY_TARGET, encoding="utf-8")
    return [GOLDEN / "full", GOLDEN / "kubernetes", every.parent]


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _scrape_job(files: dict[str, str], prefix: str, stage: DeployStage) -> dict[str, Any]:
    config = yaml.safe_load(files[f"{prefix}/monitoring/prometheus-{stage.environment}.yml"])
    (job,) = config["scrape_configs"]
    return dict(job)


def _check_scrape_against_deploy(service: Service, stage: DeployStage, job: dict[str, Any]) -> None:
    where = f"{service.origin} {stage.environment}"
    assert job["metrics_path"] == service.monitoring.metrics_path, where
    if stage.target == "docker":
        target = resolve_target(service, stage.environment)
        (static,) = job["static_configs"]
        assert static["targets"] == [str(target.listen)], where
        assert static["labels"]["environment"] == stage.environment, where
    elif stage.target == "swarm":
        swarm = resolve_swarm_target(service, stage.environment)
        if stage.network == "host":
            (static,) = job["static_configs"]
            host = "127.0.0.1" if swarm.listen.host in ("0.0.0.0", "::") else swarm.listen.host
            assert static["targets"] == [f"{host}:{p}" for p in task_ports(swarm)], where
            assert len(task_ports(swarm)) == stage.replicas, where
        else:
            (dns,) = job["dns_sd_configs"]
            # the tasks of the service deploy creates, on the port each task listens on
            assert dns["names"] == [f"tasks.{swarm.names.base}"], where
            assert dns["port"] == swarm.service.runtime.port, where
    else:
        kube = resolve_kubernetes_target(service, stage.environment)
        (sd,) = job["kubernetes_sd_configs"]
        assert sd["namespaces"]["names"] == [kube.stage.namespace], where


def _check_kubernetes(
    service: Service, stage: DeployStage, job: dict[str, Any], objects: list[dict[str, Any]]
) -> None:
    where = f"{service.origin} {stage.environment}"
    runtime = service.runtime_for(stage)
    assert {o["metadata"]["namespace"] for o in objects} == {stage.namespace}, where
    by_kind: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in by_kind, f"{where}: {key} twice"
        by_kind[key] = obj
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
    # the scrape job keeps the endpoints of a Service that exists, on a port it has
    keep = next(r for r in job["relabel_configs"] if r.get("action") == "keep")
    service_name, port_name = keep["regex"].split(";")
    assert service_name in services, where
    assert port_name in {p["name"] for p in services[service_name]["spec"]["ports"]}, where
    for deployment in deployments:
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items(), where
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        port_names = {p["name"] for p in container.get("ports", [])}
        # one Service selects exactly this Deployment's pods, on a port the container names
        (svc,) = [
            s for s in services.values() if s["spec"]["selector"] == spec["selector"]["matchLabels"]
        ]
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= port_names, where
        for probe in ("readinessProbe", "livenessProbe"):
            if "httpGet" in container.get(probe, {}):
                assert container[probe]["httpGet"]["port"] in port_names, where
                assert container[probe]["httpGet"]["path"] == runtime.healthcheck.path, where
        claimed = {
            v["persistentVolumeClaim"]["claimName"]
            for v in pod.get("volumes", [])
            if "persistentVolumeClaim" in v
        }
        assert claimed <= claims, where
        mounts = {m["name"] for m in container.get("volumeMounts", [])}
        assert mounts == {v["name"] for v in pod.get("volumes", [])}, where
    app = by_kind[("Deployment", service_name)]
    assert app["spec"]["replicas"] == stage.replicas, where
    app_container = app["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in app_container["env"]}
    assert env["PORT"] == str(runtime.port), where
    assert app_container["ports"][0]["containerPort"] == runtime.port, where
    # every companion the app reaches by host name is a Service of that name and port
    for companion in runtime.companions:
        assert companion.name in services, f"{where}: companion {companion.name} dropped"
        assert [p["port"] for p in services[companion.name]["spec"]["ports"]] == [companion.port], (
            where
        )
    for value in env.values():
        for host, port in re.findall(r"://([a-z0-9-]+):([0-9]+)", value or ""):
            assert host in services, f"{where}: {value} points at no Service"
            assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]], where
    pdbs = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    if stage.replicas > 1:
        (pdb,) = pdbs
        assert pdb["spec"]["selector"] == app["spec"]["selector"], where
    else:
        assert pdbs == [], where


def _check_compose(service: Service, text: str) -> None:
    compose = yaml.safe_load(text)
    runtime = service.runtime
    app = compose["services"]["app"]
    assert app["environment"]["PORT"] == str(runtime.port)
    assert app["ports"] == [f"127.0.0.1:{runtime.port}:{runtime.port}"]
    names = {c.name for c in runtime.companions}
    assert set(compose["services"]) == {"app", *names}
    assert set(app.get("depends_on", {})) == names
    volumes = {c.volume.name for c in runtime.companions if c.volume is not None}
    assert set(compose.get("volumes") or {}) == volumes
    for companion in runtime.companions:
        if companion.volume is not None:
            mount = f"{companion.volume.name}:{companion.volume.path}"
            assert compose["services"][companion.name]["volumes"] == [mount]


def _check_receivers(service: Service, files: dict[str, str]) -> None:
    team = service.metadata.team
    route = yaml.safe_load(files[f"{team}/alertmanager.yml"])
    declared = {r["name"] for r in route["receivers"]}
    for child in route["routes"][0]["routes"]:
        assert child["receiver"] in declared
        if child["matchers"] == [f'service="{service.metadata.name}"']:
            assert child["receiver"] == f"{team}/{service.monitoring.alerts_notify}"


def test_every_rendered_file_agrees_with_the_others_and_with_deploy(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    run = render_run(cases)
    files = {path: artifact.text for path, artifact in run.tree.artifacts.items()}
    seen_objects: dict[tuple[str | None, str, str, str], str] = {}
    targets = set()
    for service in load_services(cases):
        prefix = service.full_name
        assert service.image is not None
        _check_compose(service, files[f"{prefix}/compose.yaml"])
        if service.monitoring.alerts_notify:
            _check_receivers(service, files)
        for stage in service.deploy:
            targets.add((stage.target, stage.network if stage.target == "swarm" else ""))
            job = _scrape_job(files, prefix, stage)
            _check_scrape_against_deploy(service, stage, job)
            rule_labels = {"team": service.metadata.team, "service": service.metadata.name}
            assert rule_labels.items() <= _job_labels(job).items()
            if stage.target != "kubernetes":
                continue
            objects = _documents(files[f"{prefix}/kubernetes/{stage.environment}.yaml"])
            _check_kubernetes(service, stage, job, objects)
            for obj in objects:  # no object of one environment is another's
                key = (stage.context, stage.namespace, obj["kind"], obj["metadata"]["name"])
                assert key not in seen_objects, f"{key} in {seen_objects.get(key)} and {stage}"
                seen_objects[key] = stage.environment
    assert targets == {("docker", ""), ("swarm", "overlay"), ("swarm", "host"), ("kubernetes", "")}


def _job_labels(job: dict[str, Any]) -> dict[str, str]:
    if "static_configs" in job:
        return dict(job["static_configs"][0]["labels"])
    return {
        r["target_label"]: r["replacement"]
        for r in job["relabel_configs"]
        if r.get("action") == "replace"
    }


@pytest.mark.parametrize(
    ("stage_yaml", "message"),
    [
        (
            "{environment: a, target: kubernetes, namespace: x}\n"
            "  - {environment: b, target: kubernetes, namespace: x}",
            "deploys this service into namespace 'x' too",
        ),
        ("{environment: a, target: kubernetes, listen: '127.0.0.1:80'}", "no listen address"),
    ],
)
def test_what_kubernetes_cannot_keep_apart_is_refused(
    tmp_path: Path, stage_yaml: str, message: str
) -> None:
    from jenkins_bridge.errors import InvalidDescriptors

    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: jenkins-bridge/v1\nkind: Service\nmetadata: {name: a, team: t}\n"
        "source: {repo: https://git.example.com/t/a.git}\nimage: {repository: r.example/t/a}\n"
        f"deploy:\n  - {stage_yaml}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidDescriptors) as raised:
        render_run([path])
    assert any(message in str(p) for p in raised.value.problems()), raised.value.problems()
