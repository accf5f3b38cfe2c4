#!/usr/bin/env bash
# The main job on the bundled examples: validate every descriptor, render the Jenkins tree,
# and prove the tree is current. Output lands in out/demo/.
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
say "files written:"
find out/demo -type f | sort
