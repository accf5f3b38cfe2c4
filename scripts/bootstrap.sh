#!/usr/bin/env bash
# Installs what jenkins-bridge needs to run and be tested, and nothing twice:
#   - Debian packages: groovy + a JRE (Groovy 2.4, the line Jenkins runs, parses Jenkinsfiles);
#     prometheus and prometheus-alertmanager (promtool, amtool and the server the monitoring
#     tests run on loopback; their packaged services are not used)
#   - the virtualenv .venv with jenkins-bridge installed editable, plus dev tools
# Safe to run again: each step checks first and says what it does.
# `--venv-only` (used by `make check`) skips the Debian and npm steps: no sudo needed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv_only=false
[ "${1:-}" = "--venv-only" ] && venv_only=true

say() { printf 'bootstrap: %s\n' "$*"; }
# shellcheck source=scripts/apt.sh
. scripts/apt.sh

if ! $venv_only; then
    apt_install groovy default-jre-headless make prometheus prometheus-alertmanager

    # CodeNarc (through npm-groovy-lint, which bundles it) lints the generated Jenkinsfiles.
    GROOVY_LINT_VERSION=16.2.0
    if [ ! -x .tools/node_modules/.bin/npm-groovy-lint ]; then
        command -v npm >/dev/null 2>&1 || apt_install nodejs npm
        say "installing npm-groovy-lint $GROOVY_LINT_VERSION (CodeNarc) into .tools/"
        npm install --prefix .tools --no-audit --no-fund --loglevel=error "npm-groovy-lint@$GROOVY_LINT_VERSION" >/dev/null
    else
        say "npm-groovy-lint present in .tools/"
    fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    say "creating virtualenv .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.jenkins-bridge-installed
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ] || ! .venv/bin/python -c 'import jenkins_bridge' 2>/dev/null; then
    say "installing jenkins-bridge (editable) with dev tools into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e '.[dev]'
    echo "$wanted" > "$stamp"
else
    say ".venv is up to date ($(.venv/bin/jenkins-bridge --version))"
fi
# An editable install leaves our modules without bytecode, and where PYTHONDONTWRITEBYTECODE
# is set every CLI call would compile them again; a wheel install ships it precompiled.
.venv/bin/python -m compileall -q jenkins_bridge >/dev/null
