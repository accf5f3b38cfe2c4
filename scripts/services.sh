#!/usr/bin/env bash
# Starts (and stops) the real components the container tests and benchmarks need:
# the Docker engine, two local registries (plain on :5000, htpasswd auth on :5001) and a tiny
# busybox base image, an nginx proxy image built from Debian's nginx package (deploy tests) and
# a private sshd on a loopback port for DOCKER_HOST=ssh://... (remote-engine tests), all on
# loopback. Idempotent: only starts what does not already answer.
#
#   scripts/services.sh up       install missing packages, start what is missing
#   scripts/services.sh down     stop what this script started (pid files in the state dir)
#   scripts/services.sh status   print what answers
#   scripts/services.sh swarm-down  leave the single-node swarm and remove docker_gwbridge
#
# `up` also makes the engine a single-node Swarm manager (swarm deploy tests) that stays off the
# private ranges: docker_gwbridge is pre-created on 198.19.0.0/24, overlay networks come from
# 198.18.0.0/16, and the node advertises and listens on 127.0.0.1 only.
#
# State (configs, logs, pid files, registry storage, test credentials):
#   ${JB_STATE_DIR:-/tmp/jenkins-bridge-services}
# The auth registry's test user/password are written to $STATE/registry-auth.env.
set -euo pipefail

STATE="${JB_STATE_DIR:-/tmp/jenkins-bridge-services}"
PLAIN_REGISTRY_ADDR="127.0.0.1:5000"
AUTH_REGISTRY_ADDR="127.0.0.1:5001"
AUTH_USER="jb-test"
AUTH_PASSWORD="jb-test-Secr3t-pw"
BASE_IMAGE="jenkins-bridge-test/busybox:latest"
PROXY_IMAGE="jenkins-bridge-test/nginx:debian"
SSH_PORT="${JB_SSH_PORT:-2222}"
APT_PACKAGES=(docker.io docker-compose docker-registry apache2-utils busybox-static curl nginx openssh-server openssh-client)

say() { printf 'services: %s\n' "$*"; }

# shellcheck source=scripts/apt.sh
. "$(dirname "$0")/apt.sh"

install_packages() { apt_install "${APT_PACKAGES[@]}"; }

engine_answers() { docker version >/dev/null 2>&1; }

start_engine() {
    if engine_answers; then
        say "docker engine already answers"
        return
    fi
    if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
        say "DOCKER_HOST=$DOCKER_HOST does not answer and is not a local socket; start that engine yourself"
        exit 1
    fi
    # A dockerd that was killed (a stopped session, a crash) leaves its pid file, and a new
    # dockerd refuses to start while it exists: remove it when no dockerd owns it.
    local pidfile=/var/run/docker.pid
    if [ -f "$pidfile" ]; then
        local old_pid
        old_pid="$(cat "$pidfile" 2>/dev/null || true)"
        if [ -z "$old_pid" ] || [ "$(cat "/proc/$old_pid/comm" 2>/dev/null || true)" != "dockerd" ]; then
            say "removing stale $pidfile (pid ${old_pid:-?} is not a running dockerd)"
            as_root rm -f "$pidfile"
        fi
    fi
    say "starting dockerd (log: $STATE/dockerd.log)"
    # --bridge=none: no default bridge network on a private range; everything uses host networking.
    as_root setsid dockerd --bridge=none --iptables=false --ip6tables=false \
        >"$STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE/dockerd.pid"
    local attempt
    for attempt in $(seq 1 60); do
        if engine_answers; then
            say "docker engine answers (after ~$((attempt / 4)) s)"
            return
        fi
        sleep 0.25
    done
    say "dockerd did not answer within 15 s; last log lines:"
    tail -n 20 "$STATE/dockerd.log" || true
    exit 1
}

registry_answers() {
    # 401 from the auth registry still means it is up.
    local code
    code="$(curl -sS -o /dev/null -w '%{http_code}' "http://$1/v2/" 2>/dev/null || true)"
    [ "$code" = "200" ] || [ "$code" = "401" ]
}

write_registry_config() {
    local name="$1" addr="$2" auth_block="$3"
    mkdir -p "$STATE/$name/storage"
    cat >"$STATE/$name/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/$name/storage
  delete:
    enabled: true
http:
  addr: $addr
$auth_block
EOF
}

start_registry() {
    local name="$1" addr="$2"
    if registry_answers "$addr"; then
        say "registry $name already answers on $addr"
        return
    fi
    say "starting registry $name on $addr (log: $STATE/$name/registry.log)"
    setsid docker-registry serve "$STATE/$name/config.yml" \
        >"$STATE/$name/registry.log" 2>&1 </dev/null &
    echo $! >"$STATE/$name/registry.pid"
    local attempt
    for attempt in $(seq 1 50); do
        if registry_answers "$addr"; then
            say "registry $name answers on $addr"
            return
        fi
        sleep 0.1
    done
    say "registry $name did not answer on $addr; last log lines:"
    tail -n 20 "$STATE/$name/registry.log" || true
    exit 1
}

start_registries() {
    write_registry_config plain-registry "$PLAIN_REGISTRY_ADDR" ""
    if [ ! -s "$STATE/auth-registry/htpasswd" ]; then
        mkdir -p "$STATE/auth-registry"
        htpasswd -Bbn "$AUTH_USER" "$AUTH_PASSWORD" >"$STATE/auth-registry/htpasswd"
    fi
    write_registry_config auth-registry "$AUTH_REGISTRY_ADDR" "auth:
  htpasswd:
    realm: jenkins-bridge-test
    path: $STATE/auth-registry/htpasswd"
    (
        umask 077
        cat >"$STATE/registry-auth.env" <<EOF
REGISTRY_ADDR=$AUTH_REGISTRY_ADDR
REGISTRY_USER=$AUTH_USER
REGISTRY_PASSWORD=$AUTH_PASSWORD
EOF
    )
    start_registry plain-registry "$PLAIN_REGISTRY_ADDR"
    start_registry auth-registry "$AUTH_REGISTRY_ADDR"
}

# True, and says so, when image $1 is already on the engine.
image_present() {
    docker image inspect "$1" >/dev/null 2>&1 || return 1
    say "image $1 present"
}

# Builds image $1 from the context folder $2, logging to $3; on failure shows the log's end
# and exits.
build_image_from() {
    if ! docker build --network host -t "$1" "$2" >"$3" 2>&1; then
        say "building $1 failed; last log lines:"
        tail -n 20 "$3"
        exit 1
    fi
    say "built $1"
}

build_base_image() {
    image_present "$BASE_IMAGE" && return
    say "building $BASE_IMAGE from scratch + static busybox"
    local context="$STATE/busybox-context"
    rm -rf "$context"
    mkdir -p "$context"
    cp /bin/busybox "$context/busybox"
    cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/bin
CMD ["/bin/sh"]
EOF
    build_image_from "$BASE_IMAGE" "$context" "$STATE/busybox-build.log"
}

build_proxy_image() {
    # No image can be pulled here: the deploy tests' reverse proxy is Debian's nginx binary
    # with the libraries it links, on top of the busybox base (sh and nc for the probes).
    image_present "$PROXY_IMAGE" && return
    say "building $PROXY_IMAGE from Debian's nginx package"
    local context="$STATE/nginx-context"
    rm -rf "$context"
    mkdir -p "$context/root/usr/sbin" "$context/root/etc/nginx/conf.d" \
        "$context/root/var/log/nginx" "$context/root/var/lib/nginx" "$context/root/run"
    cp -L /usr/sbin/nginx "$context/root/usr/sbin/nginx"
    cp -L /etc/nginx/mime.types "$context/root/etc/nginx/mime.types"
    local lib
    for lib in $(ldd /usr/sbin/nginx | grep -o '/[^ ]*'); do
        mkdir -p "$context/root$(dirname "$lib")"
        cp -L "$lib" "$context/root$lib"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
        >"$context/root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$context/root/etc/group"
    cat >"$context/root/etc/nginx/nginx.conf" <<'NGINX'
user nobody nogroup;
worker_processes 1;
error_log stderr warn;
pid /run/nginx.pid;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    include /etc/nginx/conf.d/*.conf;
}
NGINX
    cat >"$context/Dockerfile" <<DOCKERFILE
FROM $BASE_IMAGE
COPY root/ /
ENV PATH=/usr/sbin:/bin
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
DOCKERFILE
    build_image_from "$PROXY_IMAGE" "$context" "$STATE/nginx-build.log"
}

GWBRIDGE_SUBNET="198.19.0.0/24"
SWARM_POOL="198.18.0.0/16"

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

start_swarm() {
    if [ "$(swarm_state)" = active ]; then
        return
    fi
    if ! docker network inspect docker_gwbridge >/dev/null 2>&1; then
        say "creating docker_gwbridge on $GWBRIDGE_SUBNET"
        docker network create --driver bridge --subnet "$GWBRIDGE_SUBNET" \
            --opt com.docker.network.bridge.name=docker_gwbridge \
            --opt com.docker.network.bridge.enable_icc=false \
            --opt com.docker.network.bridge.enable_ip_masquerade=false docker_gwbridge >/dev/null
    fi
    say "initialising a single-node swarm on 127.0.0.1 (address pool $SWARM_POOL)"
    docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 \
        --default-addr-pool "$SWARM_POOL" --default-addr-pool-mask-length 24 >/dev/null
}

cmd_swarm_down() {
    if [ "$(swarm_state)" = active ]; then
        say "leaving the swarm"
        docker swarm leave --force >/dev/null
    fi
    if docker network inspect docker_gwbridge >/dev/null 2>&1; then
        docker network rm docker_gwbridge >/dev/null && say "removed docker_gwbridge"
    fi
}

sshd_answers() { [ -f "$STATE/sshd/sshd.pid" ] && kill -0 "$(cat "$STATE/sshd/sshd.pid")" 2>/dev/null; }

start_sshd() {
    # A private sshd on 127.0.0.1:$SSH_PORT with its own host key and a generated client key;
    # $STATE/sshd/ssh_config serves DOCKER_HOST=ssh://root@127.0.0.1:$SSH_PORT (ssh -F it).
    local dir="$STATE/sshd"
    mkdir -p "$dir"
    chmod 700 "$dir"
    [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    [ -f "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    cat >"$dir/sshd_config" <<SSHD
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxStartups 50:30:100
MaxSessions 50
SSHD
    {
        printf '[127.0.0.1]:%s ' "$SSH_PORT"
        cut -d' ' -f1,2 "$dir/host_key.pub"
    } >"$dir/known_hosts"
    cat >"$dir/ssh_config" <<SSHCONFIG
Host jb-engine 127.0.0.1
    HostName 127.0.0.1
    Port $SSH_PORT
    User root
    IdentityFile $dir/client_key
    IdentitiesOnly yes
    UserKnownHostsFile $dir/known_hosts
    StrictHostKeyChecking yes
    BatchMode yes
SSHCONFIG
    say "swarm: $(swarm_state)"
    if sshd_answers; then
        say "sshd already runs on 127.0.0.1:$SSH_PORT (ssh config: $dir/ssh_config)"
        return
    fi
    mkdir -p /run/sshd
    say "starting sshd on 127.0.0.1:$SSH_PORT (log: $dir/sshd.log, ssh config: $dir/ssh_config)"
    as_root /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
    local attempt
    for attempt in $(seq 1 50); do
        if sshd_answers && ssh -F "$dir/ssh_config" jb-engine true 2>/dev/null; then
            say "sshd answers on 127.0.0.1:$SSH_PORT"
            return
        fi
        sleep 0.1
    done
    # Only the demo and benchmarks use this one (the tests start their own): warn, go on.
    say "warning: sshd did not answer on 127.0.0.1:$SSH_PORT (set JB_SSH_PORT); last log lines:"
    tail -n 5 "$dir/sshd.log" || true
}

stop_pidfile() {
    local what="$1" pidfile="$2"
    if [ ! -f "$pidfile" ]; then
        say "$what: not started by this script"
        return
    fi
    local pid
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        say "stopping $what (pid $pid)"
        as_root kill "$pid"
        local attempt
        for attempt in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    else
        say "$what (pid $pid) already gone"
    fi
    rm -f "$pidfile"
}

cmd_up() {
    mkdir -p "$STATE"
    install_packages
    start_engine
    start_registries
    build_base_image
    build_proxy_image
    start_swarm
    start_sshd
    say "up: engine, $PLAIN_REGISTRY_ADDR (no auth), $AUTH_REGISTRY_ADDR (auth: $STATE/registry-auth.env)"
}

cmd_down() {
    stop_pidfile "sshd" "$STATE/sshd/sshd.pid"
    stop_pidfile "auth registry" "$STATE/auth-registry/registry.pid"
    stop_pidfile "plain registry" "$STATE/plain-registry/registry.pid"
    stop_pidfile "dockerd" "$STATE/dockerd.pid"
}

cmd_status() {
    local failed=0
    if engine_answers; then
        say "docker engine: answers ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
    else
        say "docker engine: down"
        failed=1
    fi
    if registry_answers "$PLAIN_REGISTRY_ADDR"; then
        say "plain registry $PLAIN_REGISTRY_ADDR: answers"
    else
        say "plain registry $PLAIN_REGISTRY_ADDR: down"
        failed=1
    fi
    if registry_answers "$AUTH_REGISTRY_ADDR"; then
        say "auth registry $AUTH_REGISTRY_ADDR: answers"
    else
        say "auth registry $AUTH_REGISTRY_ADDR: down"
        failed=1
    fi
    if engine_answers && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        say "image $BASE_IMAGE: present"
    else
        say "image $BASE_IMAGE: missing"
        failed=1
    fi
    if engine_answers && docker image inspect "$PROXY_IMAGE" >/dev/null 2>&1; then
        say "image $PROXY_IMAGE: present"
    else
        say "image $PROXY_IMAGE: missing"
        failed=1
    fi
    say "swarm: $(swarm_state)"
    if sshd_answers; then
        say "sshd 127.0.0.1:$SSH_PORT: runs (ssh config: $STATE/sshd/ssh_config)"
    else
        say "sshd 127.0.0.1:$SSH_PORT: not running (only the demo and benchmarks use it)"
    fi
    return "$failed"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
swarm-down) cmd_swarm_down ;;
*)
    echo "usage: $0 up|down|status|swarm-down" >&2
    exit 2
    ;;
esac
