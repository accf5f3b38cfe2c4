#!/usr/bin/env bash
# The main job on the bundled examples, end to end:
#   1. validate every descriptor and render the Jenkins tree into out/demo (then --check it);
#   2. provision the jobs into the bundled Jenkins API emulator: plan, apply, plan again;
#   3. build the ledger example's image with the Docker SDK and push it to the local registry;
#   4. run generated pipelines live through the pipeline harness (tests/library/): one builds,
#      tests and pushes; one deploys, and its next build's failing version is rolled back.
#   5. deploy an example service with a companion (a file store keeping data in a volume) to the
#      local engine behind the tool's nginx proxy as a canary under a small loopback load, try a
#      version that fails its health gate and one that passes it but fails 20 % of requests
#      (both exit 3, the old version keeps serving), roll back, show status and history, tidy up.
# It prints what a newcomer needs: each step, the tool's own answers. Installation, engine
# start-up, image build logs and test-runner output (pip, apt, npm, Docker's banners) go to
# out/demo.log, named at the start and, if a step fails, shown from its end.
set -Eeuo pipefail   # -E: the ERR trap below also sees failures inside functions
cd "$(dirname "$0")/.."
JB=.venv/bin/jenkins-bridge
say() { printf '\ndemo: %s\n' "$*"; }
mkdir -p out
LOG=out/demo.log
: >"$LOG"
logged() { printf '\n== %s\n' "$*" >>"$LOG"; "$@" >>"$LOG" 2>&1; }
failed() {
    local rc=$?
    printf '\ndemo: a step failed (exit %s); the end of %s:\n' "$rc" "$LOG" >&2
    tail -n 25 "$LOG" >&2
    exit "$rc"
}
trap failed ERR

say "set-up: Debian packages, the virtualenv and the CLI (minutes the first time; details: $LOG)"
logged bash scripts/bootstrap.sh
say "$($JB --version) is installed in .venv/ (put .venv/bin on PATH to call it as jenkins-bridge)"

say "validate examples/"
$JB validate examples
say "render examples/ -> out/demo"
$JB render examples -o out/demo
say "render --check (exit 0: the tree matches the descriptors)"
$JB render examples -o out/demo --check

say "start the Jenkins API emulator on loopback"
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export JENKINS_URL="http://127.0.0.1:${port}/" JENKINS_USER=admin JENKINS_TOKEN="demo-$RANDOM$RANDOM"
# where the team folders load the shared library from (see docs/jenkins/library.md)
export JENKINS_BRIDGE_LIBRARY_REPO="${JENKINS_BRIDGE_LIBRARY_REPO:-https://git.example.com/platform/jenkins-bridge.git}"
$JB emulator --port "$port" --user admin >out/demo-emulator.log 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -fsS -o /dev/null -u "admin:${JENKINS_TOKEN}" "${JENKINS_URL}api/json" 2>/dev/null && break
    sleep 0.1
done
say "plan against $JENKINS_URL (exit 2: changes pending)"
rc=0; $JB plan examples || rc=$?
[ "$rc" -eq 2 ] || { echo "demo: expected plan to exit 2, got $rc" >&2; exit 1; }
say "apply"
$JB apply examples
say "plan again (exit 0: nothing to change, 2 requests whatever the job count)"
$JB plan examples

say "start the Docker engine and local registry (scripts/services.sh up; details: $LOG)"
logged bash scripts/services.sh up
say "build and push the ledger image (build log: $LOG); it prints the digest reference a deploy uses"
GIT_COMMIT="$(git rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)" \
    BRANCH_NAME=main BUILD_NUMBER=1 \
    $JB image build examples/platform/ledger.yaml --push 2>>"$LOG"
say "run a generated pipeline live through the pipeline harness (vars/ steps, Groovy 2.4):"
printf '%s\n' \
    "  its Build image, Test and Push image stages drive image build/push for real; then a" \
    "  pipeline that deploys: build 1 goes live behind the proxy, build 2 fails its health" \
    "  check and is rolled back (the build fails saying what serves), build 1 keeps serving"
logged .venv/bin/pytest -q -p no:cacheprovider tests/library/test_pipelines_live.py \
    -k "builds_tests_and_pushes or deploys"
printf '  %s (the pipelines'"'"' logs: %s)\n' "$(grep -E '^[0-9]+ passed' "$LOG" | tail -n 1)" "$LOG"

say "deploy: build four versions of a tiny busybox app (v3 never gets healthy, v4 answers 500 to 20 % of requests)"
demo_dir=out/demo-deploy
mkdir -p "$demo_dir/app"
suffix="$(.venv/bin/python -c 'import uuid; print(uuid.uuid4().hex[:6])')"
app="jb-demo-$suffix/app"
cp tests/deploy/app/Dockerfile "$demo_dir/app/Dockerfile"
docker build -q --network host --build-arg VERSION=1 -t "$app:v1" "$demo_dir/app" >>"$LOG" 2>&1
docker build -q --network host --build-arg VERSION=2 -t "$app:v2" "$demo_dir/app" >>"$LOG" 2>&1
docker build -q --network host --build-arg VERSION=3 --build-arg HEALTHY=no -t "$app:v3" "$demo_dir/app" >>"$LOG" 2>&1
docker build -q --network host --build-arg VERSION=4 --build-arg ERROR_PERCENT=20 -t "$app:v4" "$demo_dir/app" >>"$LOG" 2>&1
listen_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
subnet="$(.venv/bin/python - <<'PY'
import json, random, subprocess
ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True).stdout.split()
used = {c.get("Subnet") for n in json.loads(subprocess.run(["docker", "network", "inspect", *ids],
        capture_output=True, text=True).stdout or "[]") for c in (n["IPAM"]["Config"] or [])}
print(random.choice([f"198.19.{b}.0/24" for b in range(1, 256) if f"198.19.{b}.0/24" not in used]))
PY
)"
descriptor="$demo_dir/kv-demo.yaml"
cat >"$descriptor" <<YAML
apiVersion: jenkins-bridge/v1
kind: Service
metadata: {name: kv-demo-$suffix, team: demo}
source: {repo: https://git.example.com/demo/kv-demo.git}
image: {repository: 127.0.0.1:5000/demo/kv-demo}
runtime:
  port: 8080
  healthcheck: {path: /healthz, intervalSeconds: 1, retries: 2, startPeriodSeconds: 0}
  stopTimeoutSeconds: 2
  secrets: [{env: DEMO_TOKEN, credentialsId: demo-token}]
  companions:
    - name: store
      image: jenkins-bridge-test/busybox:latest
      command: [httpd, -f, -p, "8080", -h, /data]
      volume: {name: store-data, path: /data}
      healthcheck: {command: [sh, -c, "echo | nc -w 2 127.0.0.1 8080"], intervalSeconds: 1}
deploy:
  - environment: demo
    target: docker
    strategy: canary       # 10 % of requests, then 50 %, then 100 %, each step judged
    canary: {steps: [10, 50, 100], intervalSeconds: 2, minRequests: 5}
    listen: "127.0.0.1:$listen_port"
    subnet: $subnet
    proxyImage: jenkins-bridge-test/nginx:debian   # production default: a pinned public nginx
    healthTimeoutSeconds: 15
    drainSeconds: 1
monitoring: {slo: {availability: 99.9}}   # the canary may fail at most 14.4 x 0.1 % of requests
YAML
tidy() {
    local label="label=dev.jenkins-bridge.service=demo/kv-demo-$suffix"
    docker ps -aq --filter "$label" | xargs -r docker rm -f >/dev/null
    docker network ls -q --filter "$label" | xargs -r docker network rm >/dev/null
    docker volume ls -q --filter "$label" | xargs -r docker volume rm >/dev/null
    docker rmi -f "$app:v1" "$app:v2" "$app:v3" "$app:v4" >/dev/null 2>&1 || true
}
load=""
trap 'kill "$emulator" $load 2>/dev/null || true; tidy' EXIT
export DEMO_TOKEN="demo-secret-$RANDOM"   # in Jenkins: withCredentials binds it
say "deploy v1 with its companion (exit 0: live and healthy)"
$JB deploy "$descriptor" --env demo --image "$app:v1"
store="$(docker ps -q --filter "label=dev.jenkins-bridge.service=demo/kv-demo-$suffix" \
    --filter label=dev.jenkins-bridge.role=companion)"
docker exec "$store" sh -c 'echo "kept across deploys" > /data/note'
curl -fsS "http://127.0.0.1:$listen_port/"
# A canary is judged on real requests: a small loopback load (two bounded loops) stands in for
# users (a canary that gets too few requests is not promoted).
for _ in 1 2; do
    ( for _ in $(seq 4000); do curl -s -o /dev/null "http://127.0.0.1:$listen_port/"; sleep 0.01; done ) &
    load="$load $!"
done
say "deploy v2 as a canary: every step passes, then it is promoted (exit 0)"
$JB deploy "$descriptor" --env demo --image "$app:v2"
curl -fsS "http://127.0.0.1:$listen_port/"
say "deploy v3, whose health check fails (exit 3: rolled back, v2 never stopped serving)"
rc=0; $JB deploy "$descriptor" --env demo --image "$app:v3" || rc=$?
[ "$rc" -eq 3 ] || { echo "demo: expected exit 3, got $rc" >&2; exit 1; }
curl -fsS "http://127.0.0.1:$listen_port/"
say "deploy v4: healthy, but 20 % of its answers are 500s; the canary catches it at 10 % (exit 3)"
rc=0; $JB deploy "$descriptor" --env demo --image "$app:v4" || rc=$?
[ "$rc" -eq 3 ] || { echo "demo: expected exit 3, got $rc" >&2; exit 1; }
# shellcheck disable=SC2086  # two process ids
kill $load 2>/dev/null || true
curl -fsS "http://127.0.0.1:$listen_port/"
say "the app reaches its companion by name; the data is still there"
$JB exec "$descriptor" --env demo -- sh -c 'printf "GET /note HTTP/1.0\r\n\r\n" | nc -w 2 store 8080 | tail -n 1'
say "status and history (kept on the engine, so every agent sees the same)"
$JB status "$descriptor" --env demo
$JB history "$descriptor" --env demo
say "rollback to the previous live version, v1 (health-gated like a deploy)"
$JB rollback "$descriptor" --env demo
curl -fsS "http://127.0.0.1:$listen_port/"
$JB history "$descriptor" --env demo
say "done: out/demo holds the rendered tree; the deploy demo removes its containers on exit"
say "details of every step: $LOG; next: docs/getting-started.md (or make docs, then out/site/)"
