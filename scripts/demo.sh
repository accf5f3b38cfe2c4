#!/usr/bin/env bash
# The main job on the bundled examples, end to end:
#   1. validate every descriptor and render the Jenkins tree into out/demo (then --check it);
#   2. provision the jobs into the bundled Jenkins API emulator: plan, apply, plan again;
#   3. build the ledger example's image with the Docker SDK and push it to the local registry;
#   4. run one generated pipeline live through the pipeline harness (tests/library/).
set -euo pipefail
cd "$(dirname "$0")/.."
JB=.venv/bin/jenkins-bridge
say() { printf '\ndemo: %s\n' "$*"; }

say "validate examples/"
$JB validate examples
say "render examples/ -> out/demo"
$JB render examples -o out/demo
say "render --check (exit 0: the tree matches the descriptors)"
$JB render examples -o out/demo --check

say "start the Jenkins API emulator on loopback"
port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export JENKINS_URL="http://127.0.0.1:${port}/" JENKINS_USER=admin JENKINS_TOKEN="demo-$RANDOM$RANDOM"
# where the team folders load the shared library from (see README: the library)
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

say "start the Docker engine and local registry (scripts/services.sh up)"
bash scripts/services.sh up
say "build and push the ledger image; stdout is the digest reference a deploy uses"
GIT_COMMIT="$(git rev-parse HEAD 2>/dev/null || echo 0000000000000000000000000000000000000000)" \
    BRANCH_NAME=main BUILD_NUMBER=1 \
    $JB image build examples/platform/ledger.yaml --push
say "run a generated pipeline live through the pipeline harness (vars/ steps, Groovy 2.4):"
say "  its Build image, Test and Push image stages drive image build/push for real"
.venv/bin/pytest -q -p no:cacheprovider tests/library/test_pipelines_live.py \
    -k builds_tests_and_pushes
say "done: out/demo holds the rendered tree"
