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
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! $venv_only; then
    APT_PACKAGES=(groovy default-jre-headless make prometheus prometheus-alertmanager)
    missing=()
    for package in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        # Packaged daemons (prometheus, alertmanager) must not start and listen on every
        # interface: the tests run their own on loopback. A policy-rc.d refusing starts is
        # put in place for the install only, if the machine has none.
        policy=/usr/sbin/policy-rc.d
        added_policy=false
        if [ ! -e "$policy" ]; then
            printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
            as_root chmod 755 "$policy"
            added_policy=true
        fi
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
        if $added_policy; then as_root rm -f "$policy"; fi
    else
        say "Debian packages present: ${APT_PACKAGES[*]}"
    fi

    # CodeNarc (through npm-groovy-lint, which bundles it) lints the generated Jenkinsfiles.
    GROOVY_LINT_VERSION=16.2.0
    if [ ! -x .tools/node_modules/.bin/npm-groovy-lint ]; then
        if ! command -v npm >/dev/null 2>&1; then
            say "installing Debian packages: nodejs npm"
            as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
        fi
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
