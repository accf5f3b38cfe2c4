#!/usr/bin/env bash
# The full test suite: static checks, the documentation build, then pytest (unit, golden, Groovy, emulator, Docker).
# Assumes scripts/bootstrap.sh and scripts/services.sh up have run (`make test` does both).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
step() { printf '\n== %s\n' "$*"; }

step "ruff check"
.venv/bin/ruff check jenkins_bridge tests bench || status=1
step "ruff format --check"
.venv/bin/ruff format --check jenkins_bridge tests bench || status=1
step "mypy --strict jenkins_bridge"
.venv/bin/mypy || status=1
step "docs: mkdocs build --strict (offline, links checked)"
bash scripts/docs.sh || status=1
step "pytest"
.venv/bin/pytest -p no:cacheprovider "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    rc=1
fi
[ "$rc" -ne 0 ] && status=1
if [ "$status" -eq 0 ]; then echo; echo "all checks passed"; else echo; echo "some checks FAILED" >&2; fi
exit "$status"
