"""Per-environment overrides: the one merge over ``runtime`` (what each environment runs), and
``validate`` refusing, at the line to change, what a deploy on the target would fail on."""

from __future__ import annotations

from pathlib import Path

import pytest

from jenkins_bridge.descriptor.loading import load_service
from jenkins_bridge.errors import InvalidDescriptors

HEAD = """\
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: api, team: shop}
source: {repo: https://git.example.com/shop/api.git}
image: {repository: registry.example.com/shop/api}
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "api.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_an_environment_merges_its_settings_over_runtime(tmp_path: Path) -> None:
    service = load_service(
        _write(
            tmp_path,
            """\
runtime:
  port: 8080
  env: {LOG_LEVEL: debug, ONLY_STAGING: "1"}
  secrets: [{env: DB_PASSWORD, credentialsId: db-staging}]
  healthcheck: {path: /healthz, intervalSeconds: 5}
  resources: {cpus: 0.5, memory: 128Mi}
  companions:
    - {name: cache, image: redis:7, env: {MODE: small}, port: 6379}
deploy:
  - {environment: staging, target: docker, listen: "127.0.0.1:18080"}
  - environment: production
    target: kubernetes
    replicas: 3
    runtime:
      port: 9090
      env: {LOG_LEVEL: warn, ONLY_STAGING: null}
      secrets: [{env: DB_PASSWORD, credentialsId: db-production}]
      healthcheck: {intervalSeconds: 15}
      resources: {memory: 1Gi}
      companions: [{name: cache, image: redis:7.2, env: {MODE: large}}]
""",
        )
    )
    staging, production = service.deploy
    assert service.runtime_for(staging) == service.runtime
    merged = service.runtime_for(production)
    assert merged.port == 9090
    assert dict(merged.env) == {"LOG_LEVEL": "warn"}
    assert [(s.env, s.credentials_id) for s in merged.secrets] == [("DB_PASSWORD", "db-production")]
    assert (merged.healthcheck.path, merged.healthcheck.interval_seconds) == ("/healthz", 15)
    assert (merged.resources.cpus, merged.resources.memory) == (0.5, "1Gi")
    (cache,) = merged.companions
    assert (cache.image, dict(cache.env), cache.port) == ("redis:7.2", {"MODE": "large"}, 6379)
    assert service.for_environment(production).runtime == merged
    assert service.runtime.port == 8080  # the top-level runtime is left as written


REFUSED = [
    (
        "runtime: {env: {PORT: '1808{{.Task.Slot}}'}}\n"
        "deploy: [{environment: p, target: swarm, network: host}]\n",
        "6:23: runtime.env.PORT: '1808{{.Task.Slot}}' is a Swarm template",
    ),
    (
        "deploy:\n  - environment: s\n    target: docker\n    listen: 127.0.0.1:18080\n"
        "    runtime: {env: {ID: '{{.Task.Slot}}'}}\n",
        "10:25: deploy[0].runtime.env.ID: '{{.Task.Slot}}' is a Swarm template",
    ),
    (
        "runtime: {port: 8080, env: {PORT: '9090'}}\n"
        "deploy: [{environment: s, target: docker, listen: '127.0.0.1:18080'}]\n",
        "6:35: runtime.env.PORT: env PORT is 9090 but port is 8080",
    ),
    (
        "deploy: [{environment: p, target: swarm, network: host, replicas: 3}]\n",
        "6:67: deploy[0].replicas: 3 replicas on network host would all bind port 8080",
    ),
    (
        "runtime:\n  companions: [{name: db, image: pg, port: 18081}]\n"
        "deploy:\n  - environment: p\n    target: swarm\n    network: host\n    replicas: 2\n"
        "    runtime: {env: {PORT: '1808{{.Task.Slot}}'}}\n",
        "7:16: runtime.companions[0]: companion 'db' listens on port 18081",
    ),
    (
        "deploy: [{environment: p, target: swarm, listen: '127.0.0.1:18080'}]\n",
        "6:50: deploy[0].listen: Swarm publishes port 18080 on every address",
    ),
    (
        "deploy: [{environment: p, target: swarm}]\n",
        "6:10: deploy[0]: swarm on an overlay network needs 'listen'",
    ),
    (
        "runtime: {companions: [{name: db, image: pg, port: 5432}]}\n"
        "deploy:\n  - environment: s\n    target: docker\n    listen: 127.0.0.1:18080\n"
        "    runtime: {companions: [{name: dbb, env: {A: b}}]}\n",
        "11:35: deploy[0].runtime.companions[0].name: no companion 'dbb' in runtime.companions",
    ),
    (
        "deploy: [{environment: s, target: docker, listen: '127.0.0.1:1', replicas: 2}]\n",
        "6:76: deploy[0].replicas: target docker runs one container",
    ),
    (
        "deploy: [{environment: s, target: docker, listen: '127.0.0.1:1', podSecurity: {}}]\n",
        "6:66: deploy[0].podSecurity: podSecurity applies to target kubernetes only",
    ),
    (
        "runtime: {companions: [{name: db, image: pg}]}\n"
        "deploy: [{environment: p, target: kubernetes}]\n",
        "6:24: runtime.companions[0]: companion 'db' needs 'port' on kubernetes",
    ),
    (
        "deploy:\n  - {environment: a, target: docker, listen: '127.0.0.1:18080'}\n"
        "  - {environment: b, target: docker, listen: '127.0.0.1:18080'}\n",
        "8:46: deploy[1].listen: deploy[0] listens on 127.0.0.1:18080 on the same engine",
    ),
]


@pytest.mark.parametrize(("body", "message"), REFUSED)
def test_validate_refuses_what_the_deploy_would_fail_on(
    tmp_path: Path, body: str, message: str
) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(InvalidDescriptors) as raised:
        load_service(path)
    lines = [str(p).removeprefix(f"{path}:") for p in raised.value.problems()]
    assert any(line.startswith(message) for line in lines), lines
