#!/usr/bin/env bash
# A private container registry for the end-to-end tests (no real registry is reachable here): the
# open-source distribution registry (`registry`, built with Go from the Go module proxy), served over
# HTTPS with a certificate of a test CA and basic auth (htpasswd, bcrypt), as a test host in a
# network namespace of its own.
#
#   host (root namespace) -- veth gmapreg-host 10.216.0.1/30
#                                    |
#   gmapreg (namespace)   -- veth eth0         10.216.0.2/30   registry on https://10.216.0.2:5000
#
#   swarm test cluster (test/infra/swarm-cluster.sh, optional, after `swarm-routes`):
#   gmapsw-m/w1/w2 10.213.0.10-12 -- route 10.216.0.0/30 via 10.213.0.1 (gmapsw-host) -- host
#   forwards tcp/5000 to 10.216.0.2 (iptables FORWARD rules commented "gmapreg")
#
# The CA is installed as /etc/docker/certs.d/10.216.0.2:5000/ca.crt, which every Docker engine of
# this machine reads on each connection (the host's and the swarm test cluster's; no restart). The
# user is gmap-puller; its password is $REGISTRY_PASSWORD when set (a test stack's fixture), else
# random, made once by `up`. Deletes are enabled. State:
# /run/gmapreg (CA, certificate, htpasswd, password, config, pid file, logs) and /var/lib/gmapreg/data
# (the blobs). The binary is built once into $GMAP_GO_BIN_CACHE (default
# ~/.cache/gmap-standins/go-bin), a minute or two.
#
# Usage: test/infra/registry.sh build                     build the binary if needed (nothing else; no root needed)
#        test/infra/registry.sh up                        build if needed, wire, start, wait until it answers
#        test/infra/registry.sh push SOURCE TARGET_PATH   push a local image as 10.216.0.2:5000/TARGET_PATH
#                                                      (e.g. push localhost/notebook-minimal:5.5.1
#                                                      gmap/notebook-minimal:5.5.1); prints its digest
#        test/infra/registry.sh env                       print REGISTRY=, REGISTRY_USER=, REGISTRY_PASSWORD=,
#                                                      REGISTRY_CA= lines
#        test/infra/registry.sh swarm-routes              let the swarm test cluster's nodes reach the registry
#                                                      (again after every `swarm-cluster.sh up`)
#        test/infra/registry.sh down                      stop it, remove the namespace, CA, data and rules
# Idempotent; must run as root. Every wait is bounded (REGISTRY_WAIT_SECONDS, default 60; the build:
# REGISTRY_BUILD_TIMEOUT, default 1800; a push: REGISTRY_PUSH_TIMEOUT, default 1800).
set -euo pipefail
exec </dev/null

version=3.1.2
module="github.com/distribution/distribution/v3/cmd/registry@v$version"
go_bin_cache="${GMAP_GO_BIN_CACHE:-$HOME/.cache/gmap-standins/go-bin}"
bin_dir="$go_bin_cache/registry-$version"
run_dir=/run/gmapreg
data_dir=/var/lib/gmapreg
netns=gmapreg
host_if=gmapreg-host
host_addr=10.216.0.1
reg_addr=10.216.0.2
subnet=10.216.0.0/30
port=5000
registry="$reg_addr:$port"
user=gmap-puller
certs_d="/etc/docker/certs.d/$registry"
ca_crt="$run_dir/ca.crt"
pidfile="$run_dir/registry.pid"
wait_seconds="${REGISTRY_WAIT_SECONDS:-60}"
build_timeout="${REGISTRY_BUILD_TIMEOUT:-1800}"
push_timeout="${REGISTRY_PUSH_TIMEOUT:-1800}"
# the swarm test cluster (test/infra/swarm-cluster.sh)
sw_nodes=(gmapsw-m gmapsw-w1 gmapsw-w2)
sw_host_if=gmapsw-host
sw_host_addr=10.213.0.1
sw_subnet=10.213.0.0/24

log() { echo "registry: $*" >&2; }
die() { echo "registry: ERROR: $*" >&2; exit 1; }
as_root() { [[ "$(id -u)" == 0 ]] || die "must run as root"; }

# shellcheck source=test/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- the binary ---------------------------------------------------------------------------------
# static, once, into the cache (as go_install of test/infra/standins.sh)
build() {
  [[ -f "$bin_dir/.complete" && -x "$bin_dir/registry" ]] && return 0
  command -v go >/dev/null 2>&1 || die "go not found: needed to build $module (Go toolchain, https://go.dev/dl)"
  local tmp="$bin_dir.tmp.$$" build_log="$run_dir/go-install.log" start=$SECONDS
  log "building $module (log: $build_log)"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if ! CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" timeout "$build_timeout" go install "$module" >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2 || true
    rm -rf "$tmp"
    die "go install $module failed (log: $build_log)"
  fi
  [[ -x "$tmp/registry" ]] || { rm -rf "$tmp"; die "go install $module made no registry binary"; }
  touch "$tmp/.complete"
  rm -rf "$bin_dir" && mv "$tmp" "$bin_dir"
  log "built $module in $((SECONDS - start))s"
}

# --- the namespace ------------------------------------------------------------------------------
wire() {
  [[ -e "/run/netns/$netns" ]] || { log "creating namespace $netns"; ip netns add "$netns"; }
  if ! ip link show "$host_if" >/dev/null 2>&1; then
    ip -n "$netns" link del eth0 2>/dev/null || true
    ip link add "$host_if" type veth peer name eth0 netns "$netns"
  fi
  ip addr replace "$host_addr/30" dev "$host_if"
  ip link set "$host_if" up
  ip -n "$netns" addr replace "$reg_addr/30" dev eth0
  ip -n "$netns" link set eth0 up
  ip -n "$netns" link set lo up
}

# --- certificates, credentials, configuration ---------------------------------------------------
certificates() {
  local ca_key="$run_dir/ca.key" crt="$run_dir/server.crt" key="$run_dir/server.key"
  # a CA valid for at least another day, and a server certificate of that CA
  if ! openssl x509 -checkend 86400 -noout -in "$ca_crt" >/dev/null 2>&1 || [[ ! -s "$ca_key" ]]; then
    log "making a test CA"
    (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -keyout "$ca_key" -out "$ca_crt" \
      -subj "/CN=gmap test registry CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null) || die "openssl: making the CA failed"
    chmod 0644 "$ca_crt"
    rm -f "$crt"
  fi
  if ! openssl x509 -checkend 86400 -noout -in "$crt" >/dev/null 2>&1 ||
    ! openssl verify -CAfile "$ca_crt" "$crt" >/dev/null 2>&1 || [[ ! -s "$key" ]]; then
    log "making the server certificate for $reg_addr"
    (umask 077 && openssl req -new -newkey rsa:2048 -nodes -keyout "$key" -out "$run_dir/server.csr" \
      -subj "/CN=$reg_addr" 2>/dev/null) || die "openssl: making the server key failed"
    openssl x509 -req -sha256 -days 30 -in "$run_dir/server.csr" -CA "$ca_crt" -CAkey "$ca_key" \
      -set_serial "0x$(openssl rand -hex 16)" -out "$crt" -extfile <(printf '%s\n' \
        "subjectAltName=IP:$reg_addr" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth") 2>/dev/null ||
      die "openssl: signing the server certificate failed"
    rm -f "$run_dir/server.csr"
  fi
  # every engine of this machine trusts the CA for this registry (read on each connection)
  mkdir -p "$certs_d"
  cmp -s "$ca_crt" "$certs_d/ca.crt" || install -m 0644 "$ca_crt" "$certs_d/ca.crt"
}

# bcrypt, the only hash the registry accepts: htpasswd (Debian's apache2-utils, installed if missing)
# or Python's bcrypt module
bcrypt_line() { # bcrypt_line <user> < password
  if command -v htpasswd >/dev/null 2>&1; then
    htpasswd -niB "$1"
  elif python3 -c 'import bcrypt' >/dev/null 2>&1; then
    python3 -c 'import bcrypt, sys; print(sys.argv[1] + ":" + bcrypt.hashpw(sys.stdin.readline().rstrip("\n").encode(), bcrypt.gensalt()).decode())' "$1"
  else
    return 1
  fi
}

need_bcrypt() {
  command -v htpasswd >/dev/null 2>&1 && return 0
  python3 -c 'import bcrypt' >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || die "neither htpasswd nor Python's bcrypt, and no apt-get to install apache2-utils"
  log "installing apache2-utils (htpasswd) from Debian"
  export DEBIAN_FRONTEND=noninteractive
  local apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 -o APT::Color=0)
  timeout 1500 apt-get "${apt_opts[@]}" install -y -q --no-install-recommends apache2-utils >&2 || {
    timeout 600 apt-get "${apt_opts[@]}" update -q >&2 || die "apt-get update failed (is the Debian mirror reachable?)"
    timeout 1500 apt-get "${apt_opts[@]}" install -y -q --no-install-recommends apache2-utils >&2 ||
      die "apt-get install apache2-utils failed"
  }
  command -v htpasswd >/dev/null 2>&1 || die "htpasswd still not on PATH after installing apache2-utils"
}

credentials() {
  local pw_file="$run_dir/password" ht="$run_dir/htpasswd"
  # REGISTRY_PASSWORD: a password a test stack file holds (encrypted); else a random one, made once
  if [[ -n "${REGISTRY_PASSWORD:-}" && "$(cat "$pw_file" 2>/dev/null)" != "$REGISTRY_PASSWORD" ]]; then
    (umask 077 && printf '%s\n' "$REGISTRY_PASSWORD" >"$pw_file")
    rm -f "$ht"
  elif [[ ! -s "$pw_file" ]]; then
    (umask 077 && openssl rand -hex 16 >"$pw_file")
    rm -f "$ht"
  fi
  chmod 0600 "$pw_file"
  if [[ ! -s "$ht" ]]; then
    need_bcrypt
    (umask 077 && set -o pipefail && bcrypt_line "$user" <"$pw_file" | sed '/^$/d' >"$ht.tmp") || die "making the bcrypt hash failed"
    grep -q "^$user:\$2[aby]\\$" "$ht.tmp" || die "the htpasswd line is not bcrypt: $(cut -c1-20 "$ht.tmp")"
    mv "$ht.tmp" "$ht"
  fi
}

config() {
  mkdir -p "$data_dir/data"
  chmod 0700 "$data_dir"
  cat >"$run_dir/config.yml.tmp" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $data_dir/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $registry
  tls:
    certificate: $run_dir/server.crt
    key: $run_dir/server.key
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: gmap-test-registry
    path: $run_dir/htpasswd
EOF
  mv "$run_dir/config.yml.tmp" "$run_dir/config.yml"
}

# --- the process --------------------------------------------------------------------------------
# pid of the running registry of this script (from the pid file), or nothing
running_pid() {
  local pid
  [[ -s "$pidfile" ]] || return 1
  pid=$(cat "$pidfile")
  [[ "$pid" =~ ^[0-9]+$ && "$(cat "/proc/$pid/comm" 2>/dev/null)" == registry ]] || return 1
  echo "$pid"
}

# what the running process was started with: a change restarts it
state_hash() {
  cat "$bin_dir/registry" "$run_dir/config.yml" "$run_dir/server.crt" "$run_dir/htpasswd" | sha256sum | cut -d' ' -f1
}

stop_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_seconds * 4; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  kill -9 "$pid" 2>/dev/null || true
}

start() {
  local pid hash
  hash=$(state_hash)
  if pid=$(running_pid); then
    [[ "$(cat "$run_dir/registry.state" 2>/dev/null)" == "$hash" ]] && return 0
    log "restarting the registry ($pid): its binary, configuration or credentials changed"
    stop_pid "$pid"
  fi
  log "starting the registry on https://$registry (log: $run_dir/registry.log)"
  # OTEL_TRACES_EXPORTER=none: no tracing exporter (it would try to send spans to localhost:4318);
  # 9>&-: the lock stays with this script
  OTEL_TRACES_EXPORTER=none setsid nohup ip netns exec "$netns" "$bin_dir/registry" serve "$run_dir/config.yml" \
    >>"$run_dir/registry.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$pidfile"
  echo "$hash" >"$run_dir/registry.state"
  # setsid, nohup and ip exec one another: until the last exec the pid has another name
  started() { [[ "$(cat "/proc/$pid/comm" 2>/dev/null || echo registry)" == registry ]]; }
  wait_for "the registry process ($pid)" started
}

# curl of /v2/ (--cacert; with "auth", the credentials through a config on stdin, not the command line)
v2_status() {
  local args=(-sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ca_crt" "https://$registry/v2/")
  if [[ "${1:-}" == auth ]]; then
    printf 'user = "%s:%s"\n' "$user" "$(cat "$run_dir/password")" | curl -K - "${args[@]}"
  else
    curl "${args[@]}"
  fi
}
answers() { [[ "$(v2_status)" == 401 && "$(v2_status auth)" == 200 ]]; }
ready_or_exited() { ! running_pid >/dev/null || answers; }

up() {
  as_root
  local start_s=$SECONDS
  mkdir -p "$run_dir"
  chmod 0755 "$run_dir"
  build
  wire
  certificates
  credentials
  config
  # twice at most: a registry found running may be on its way out (it drains after SIGTERM)
  local attempt
  for attempt in 1 2; do
    start
    wait_for "registry on https://$registry (see $run_dir/registry.log)" ready_or_exited
    running_pid >/dev/null && break
    if ((attempt == 2)); then
      tail -n 20 "$run_dir/registry.log" >&2 || true
      die "the registry exited (log: $run_dir/registry.log)"
    fi
  done
  log "ready: https://$registry (user $user, CA $ca_crt) after $((SECONDS - start_s))s"
}

# --- push ---------------------------------------------------------------------------------------
push() {
  as_root
  (($# == 2)) || die "usage: $0 push SOURCE TARGET_PATH (e.g. push localhost/notebook-minimal:5.5.1 gmap/notebook-minimal:5.5.1)"
  local source=$1 path=$2 component='[a-z0-9]+([._-]+[a-z0-9]+)*'
  # one tag only: `docker push` of a repository without a tag pushes all its local tags
  [[ "$path" == *:* ]] || path="$path:latest"
  [[ "$path" =~ ^$component(/$component)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
    die "not a repository path with a tag: '$2' (e.g. gmap/notebook-minimal:5.5.1)"
  local target="$registry/$path" source_id
  source_id=$(docker image inspect --format '{{.Id}}' "$source" 2>/dev/null) || die "image $source is not on the host's engine"
  [[ -s "$ca_crt" && "$(v2_status 2>/dev/null)" == 401 ]] || die "the registry does not answer on https://$registry (run: $0 up)"
  # a DOCKER_CONFIG of its own: the credentials never reach the machine's ~/.docker
  local docker_config
  docker_config=$(mktemp -d "${TMPDIR:-/tmp}/gmapreg-docker.XXXXXX")
  # shellcheck disable=SC2064 # expanded now: the directory of this call
  trap "rm -rf '$docker_config'" EXIT
  export DOCKER_CONFIG="$docker_config"
  local tagged=0 out digest
  # (its warning about credentials stored unencrypted concerns that temporary directory)
  out=$(docker login --username "$user" --password-stdin "$registry" <"$run_dir/password" 2>&1) ||
    { echo "$out" >&2; die "docker login $registry failed"; }
  if [[ "$(docker image inspect --format '{{.Id}}' "$target" 2>/dev/null)" != "$source_id" ]]; then
    docker tag "$source" "$target"
    tagged=1
  fi
  log "pushing $source as $target"
  if ! out=$(timeout "$push_timeout" docker push "$target" 2>&1); then
    echo "$out" | tail -n 20 >&2
    ((tagged == 0)) || docker rmi "$target" >/dev/null 2>&1 || true
    die "docker push $target failed"
  fi
  # the last line: "<tag>: digest: sha256:<hex> size: <n>"
  digest=$(sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' <<<"$out" | tail -n 1)
  if [[ -z "$digest" ]]; then
    digest=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$target" |
      sed -n "s|^$registry/${path%:*}@||p" | head -n 1)
  fi
  # the registry tag only, never the source
  ((tagged == 0)) || docker rmi "$target" >/dev/null
  docker logout "$registry" >/dev/null 2>&1 || true
  [[ "$digest" == sha256:* ]] || { echo "$out" | tail -n 5 >&2; die "no digest in the output of docker push $target"; }
  log "pushed $target@$digest"
  echo "$digest"
}

# --- swarm test cluster -------------------------------------------------------------------------
swarm_rules=(
  "filter FORWARD -i $sw_host_if -o $host_if -s $sw_subnet -d $reg_addr/32 -p tcp --dport $port -m comment --comment gmapreg -j ACCEPT"
  "filter FORWARD -i $host_if -o $sw_host_if -s $reg_addr/32 -d $sw_subnet -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment gmapreg -j ACCEPT"
)

swarm_routes() {
  as_root
  if [[ ! -e "/run/netns/$netns" ]] || ! running_pid >/dev/null; then die "the registry is not up (run: $0 up)"; fi
  local n missing=()
  for n in "${sw_nodes[@]}"; do [[ -e "/run/netns/$n" ]] || missing+=("$n"); done
  if ((${#missing[@]})) || ! ip link show "$sw_host_if" >/dev/null 2>&1; then
    die "the swarm test cluster is not up (no ${missing[*]:-$sw_host_if}): run test/infra/swarm-cluster.sh up first"
  fi
  for n in "${sw_nodes[@]}"; do ip -n "$n" route replace "$subnet" via "$sw_host_addr"; done
  # the way back from the registry's namespace
  ip -n "$netns" route replace "$sw_subnet" via "$host_addr"
  sysctl -q -w net.ipv4.ip_forward=1
  local rule table chain rest
  for rule in "${swarm_rules[@]}"; do
    read -r table chain rest <<<"$rule"
    # shellcheck disable=SC2086 # the rule's words
    iptables -t "$table" -C "$chain" $rest 2>/dev/null || iptables -t "$table" -I "$chain" 1 $rest
  done
  # each node reaches the registry (a TCP connection to 10.216.0.2:5000 from its namespace)
  for n in "${sw_nodes[@]}"; do
    wait_for "registry from node $n" ip netns exec "$n" timeout 5 bash -c "exec 3<>/dev/tcp/$reg_addr/$port"
  done
  log "the swarm test cluster's nodes reach https://$registry"
}

# --- down ---------------------------------------------------------------------------------------
down() {
  as_root
  local pid n
  if pid=$(running_pid); then
    log "stopping the registry ($pid)"
    stop_pid "$pid"
  fi
  # a registry of this script whose pid file is gone (anything else in the namespace is left alone)
  if [[ -e "/run/netns/$netns" ]]; then
    for pid in $(ip netns pids "$netns" 2>/dev/null); do
      [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == registry ]] && stop_pid "$pid"
    done
  fi
  for n in "${sw_nodes[@]}"; do
    [[ -e "/run/netns/$n" ]] && { ip -n "$n" route del "$subnet" 2>/dev/null || true; }
  done
  local rule table chain rest
  for rule in "${swarm_rules[@]}"; do
    read -r table chain rest <<<"$rule"
    # shellcheck disable=SC2086 # the rule's words
    while iptables -t "$table" -D "$chain" $rest 2>/dev/null; do :; done
  done
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$netns" 2>/dev/null || true
  rm -rf "$certs_d" "$run_dir" "$data_dir"
  rmdir /etc/docker/certs.d 2>/dev/null || true # when it held only this registry's CA
  log "removed"
}

env_lines() {
  [[ -s "$run_dir/password" && -s "$ca_crt" ]] || die "the registry is not up (run: $0 up)"
  echo "REGISTRY=$registry"
  echo "REGISTRY_USER=$user"
  echo "REGISTRY_PASSWORD=$(cat "$run_dir/password")"
  echo "REGISTRY_CA=$ca_crt"
}

# one up, down or swarm-routes at a time (a second one waits, bounded)
lock() {
  as_root
  exec 9>/run/lock/gmapreg.lock
  flock -w "$build_timeout" 9 || die "another $0 held the lock for ${build_timeout}s"
}

case "${1:-}" in
  build) mkdir -p "$run_dir"; build ;;
  up) lock; up ;;
  push) shift; push "$@" ;;
  down) lock; down ;;
  env) env_lines ;;
  swarm-routes) lock; swarm_routes ;;
  *) die "usage: $0 build | up | push SOURCE TARGET_PATH | down | env | swarm-routes" ;;
esac
