#!/usr/bin/env bash
# Every row of issue 21's table in one run: render (cold vs JJB at N = 2,000 and 5,000, peak
# memory; --check and render after one descriptor changed at N = 5,000; --version and validate),
# cached image build vs docker build, deploy overhead and rollback; then what a bad version costs
# with a canary against blue-green (issue 22). Each script measures its reference in the same run
# and prints "met"/"NOT met" per target (the canary's, a comparison table); nothing here asserts.
# Usage: bash bench/all.sh [--quick]   (--quick: N = 500 and 1,000, fewer repeats)
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
# Measure the tool as installed: pip compiles every module on install, but an editable
# checkout under PYTHONDONTWRITEBYTECODE=1 (set in some shells) would compile each changed
# module from source on every CLI call, which the references (JJB, docker) never pay.
"$py" -m compileall -q jenkins_bridge
if [[ "${1:-}" == "--quick" ]]; then
  "$py" bench/render_bench.py --sizes 500,1000 --incremental-n 1000 --repeat 1 --tmpdir /dev/shm
  "$py" bench/image_bench.py --repeat 2
  "$py" bench/deploy_bench.py --repeat 2
  "$py" bench/canary_bench.py
else
  "$py" bench/render_bench.py --sizes 2000,5000 --repeat 3
  "$py" bench/image_bench.py --repeat 5
  "$py" bench/deploy_bench.py --repeat 5
  "$py" bench/canary_bench.py
fi
