# Sourced by bootstrap.sh and services.sh: install Debian packages that are missing, once.
# The caller defines say(). Packaged daemons (nginx, sshd, prometheus, alertmanager) must not
# start and listen on every interface: the tests run their own on loopback, so a policy-rc.d
# that refuses service starts is in place for the install only (if the machine has none).

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PACKAGE...: installs those not installed; says which it installs or that all are.
apt_install() {
    local missing=() package
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "Debian packages present: $*"
        return 0
    fi
    say "installing Debian packages: ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d placed=false rc=0
    if [ ! -e "$policy" ]; then
        say "blocking service starts during the install ($policy, removed afterwards)"
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod 755 "$policy"
        placed=true
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
    if [ "$rc" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if $placed; then as_root rm -f "$policy"; fi
    return "$rc"
}
