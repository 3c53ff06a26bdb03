#!/usr/bin/env bash
# A Docker Swarm cluster of three engines on this one machine, for the swarm-mode tests and the
# swarm benchmark: a manager and two workers, each a dockerd of its own (data-root, exec-root,
# socket, containerd, iptables) in a network namespace of its own, wired to a bridge that lives in
# a fourth namespace (the "switch") so that no rule of the host's firewall sees their traffic.
#
#   host (root namespace) -- veth 10.213.0.1 --+
#   gmapsw-m  (manager)   -- veth 10.213.0.10 -+-- bridge br0 in namespace gmapsw-switch
#   gmapsw-w1 (worker)    -- veth 10.213.0.11 -+
#   gmapsw-w2 (worker)    -- veth 10.213.0.12 -+
#
# The host reaches the nodes (published ports, e.g. the proxy) at their addresses. The workers reach
# nothing else; the manager reaches the outside world through the host (NAT), as a real manager
# does: it builds the hub image, whose build installs the hub's Python packages from PyPI. Each node's engine answers on unix:///run/gmapsw/<node>/docker.sock. Images are
# copied into every node with `docker save | docker load` (no registry here), and the stand-in of
# a network file system (test/infra/swarm-volume-driver.ts: a Docker volume plugin backed by one
# directory of this machine, which every node sees) is started and announced to every engine.
#
# Usage: test/infra/swarm-cluster.sh up [IMAGE...]   create (or keep) the cluster; load the images
#        test/infra/swarm-cluster.sh load [--manager] IMAGE...
#                                                 copy images from the host's engine into every node
#                                                 (--manager: into the manager only)
#        test/infra/swarm-cluster.sh down            stop the engines, remove namespaces and data
#        test/infra/swarm-cluster.sh env             print MANAGER_HOST=..., NODE_<name>_HOST=... lines
# Idempotent; must run as root. Every wait is bounded (SWARM_WAIT_SECONDS, default 60).
set -euo pipefail
exec </dev/null

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
run_dir=/run/gmapsw
data_dir="${SWARM_DATA_DIR:-/var/lib/gmapsw}"
share_dir="$data_dir/share"
wait_seconds="${SWARM_WAIT_SECONDS:-60}"
nodes=(m w1 w2)
declare -A addr=([m]=10.213.0.10 [w1]=10.213.0.11 [w2]=10.213.0.12)
host_addr=10.213.0.1
switch=gmapsw-switch
plugin=gmap-sharedfs

log() { echo "swarm-cluster: $*" >&2; }
die() { echo "swarm-cluster: ERROR: $*" >&2; exit 1; }
ns() { echo "gmapsw-$1"; }
sock() { echo "$run_dir/$1/docker.sock"; }
dk() { local node=$1; shift; docker -H "unix://$(sock "$node")" "$@"; }

# shellcheck source=test/infra/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

wire() {
  ip netns list | grep -qw "$switch" && return 0
  log "creating the namespaces and the bridge"
  ip netns add "$switch"
  ip -n "$switch" link add br0 type bridge
  ip -n "$switch" link set br0 up
  ip -n "$switch" link set lo up
  ip link add gmapsw-host type veth peer name host netns "$switch"
  ip -n "$switch" link set host master br0 up
  ip addr add "$host_addr/24" dev gmapsw-host
  ip link set gmapsw-host up
  local n
  for n in "${nodes[@]}"; do
    ip netns add "$(ns "$n")"
    ip link add "gmapsw-$n" type veth peer name eth0 netns "$(ns "$n")"
    ip link set "gmapsw-$n" netns "$switch"
    ip -n "$switch" link set "gmapsw-$n" master br0 up
    ip -n "$(ns "$n")" addr add "${addr[$n]}/24" dev eth0
    ip -n "$(ns "$n")" link set eth0 up
    ip -n "$(ns "$n")" link set lo up
  done
}

# iptables rules of the host for the manager's outside traffic (added once, removed by `down`)
nat_rules=(
  "nat POSTROUTING -s ${addr[m]}/32 ! -d 10.213.0.0/24 -m comment --comment gmapsw -j MASQUERADE"
  "filter FORWARD -i gmapsw-host -s ${addr[m]}/32 -m comment --comment gmapsw -j ACCEPT"
  "filter FORWARD -o gmapsw-host -d ${addr[m]}/32 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment gmapsw -j ACCEPT"
)
manager_outside() {
  local rule table chain rest
  ip -n "$(ns m)" route replace default via "$host_addr"
  sysctl -q -w net.ipv4.ip_forward=1
  for rule in "${nat_rules[@]}"; do
    read -r table chain rest <<<"$rule"
    # shellcheck disable=SC2086 # the rule's words
    iptables -t "$table" -C "$chain" $rest 2>/dev/null || iptables -t "$table" -I "$chain" 1 $rest
  done
}

start_engine() {
  local n=$1 dir="$run_dir/$1"
  dk "$n" info >/dev/null 2>&1 && return 0
  mkdir -p "$dir" "$data_dir/$n"
  log "starting the engine of node $n (log: $dir/dockerd.log)"
  # A mount namespace of its own with the host's cgroup hierarchies mounted again (`ip netns exec`
  # remounts /sys, which hides them): the host's cgroup v1 controllers, each as the host mounts it,
  # or cgroup2. So the node's engine applies memory, CPU and process limits as a real node's does.
  # The pid file lets `down` stop exactly this engine.
  setsid nohup ip netns exec "$(ns "$n")" sh -c '
    v1=$(awk "\$3 == \"cgroup\" { print \$2, \$4 }" /proc/1/mounts)
    if [ -n "$v1" ]; then
      mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
      echo "$v1" | while read -r dir opts; do mkdir -p "$dir" && mount -t cgroup -o "$opts" cgroup "$dir" || exit 1; done || exit 1
    else
      mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
    fi
    exec dockerd --host "unix://$1/docker.sock" --data-root "$2" --exec-root "$1/exec" \
      --pidfile "$1/dockerd.pid" --storage-driver overlay2 --log-level warn \
      --default-address-pool base=172.30.0.0/16,size=24' sh "$dir" "$data_dir/$n/docker" \
    >"$dir/dockerd.log" 2>&1 &
  wait_for "engine of node $n (see $dir/dockerd.log)" dk "$n" info
}

form_swarm() {
  local state token n
  state=$(dk m info --format '{{.Swarm.LocalNodeState}}')
  if [[ "$state" != active ]]; then
    log "docker swarm init on the manager (${addr[m]})"
    dk m swarm init --advertise-addr "${addr[m]}" --listen-addr "${addr[m]}:2377" \
      --default-addr-pool 10.214.0.0/16 --default-addr-pool-mask-length 24 >/dev/null
  fi
  token=$(dk m swarm join-token -q worker)
  for n in "${nodes[@]:1}"; do
    [[ "$(dk "$n" info --format '{{.Swarm.LocalNodeState}}')" == active ]] && continue
    log "node $n joins as a worker"
    dk "$n" swarm join --token "$token" --advertise-addr "${addr[$n]}" --listen-addr "${addr[$n]}:2377" "${addr[m]}:2377" >/dev/null
  done
  ready() { [[ "$(dk m node ls --filter role=worker --format '{{.Status}}' | grep -c Ready)" == "$((${#nodes[@]} - 1))" ]]; }
  wait_for "workers ready" ready
  # a label per node, for placement constraints in tests (node.labels.gmap-node == w1)
  for n in "${nodes[@]}"; do
    dk m node update --label-add "gmap-node=$n" "$(dk "$n" info --format '{{.Swarm.NodeID}}')" >/dev/null
  done
}

load_images() {
  local image n targets=("${nodes[@]}")
  if [[ "${1:-}" == --manager ]]; then targets=(m); shift; fi
  for image in "$@"; do
    local id
    id=$(docker image inspect --format '{{.Id}}' "$image") || die "image $image is not on the host's engine"
    for n in "${targets[@]}"; do
      [[ "$(dk "$n" image inspect --format '{{.Id}}' "$image" 2>/dev/null)" == "$id" ]] && continue
      log "loading $image into node $n"
      docker save "$image" | dk "$n" load -q >/dev/null
    done
  done
}

start_plugin() {
  mkdir -p "$share_dir" /run/docker/plugins
  local pidfile="$run_dir/$plugin.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 0; fi
  log "starting the volume plugin $plugin (directory $share_dir)"
  setsid nohup node --import tsx "$repo_root/test/infra/swarm-volume-driver.ts" "/run/docker/plugins/$plugin.sock" "$share_dir" \
    >"$run_dir/$plugin.log" 2>&1 &
  echo $! >"$pidfile"
  wait_for "volume plugin $plugin (see $run_dir/$plugin.log)" test -S "/run/docker/plugins/$plugin.sock"
}

announce_plugin() {
  # An engine reports a legacy plugin to the swarm (which places tasks only on nodes that have the
  # plugins their mounts need) once it has used it: one probe volume per node.
  local n
  for n in "${nodes[@]}"; do dk "$n" volume create --driver "$plugin" gmapsw-probe >/dev/null; done
  everywhere() {
    [[ "$(dk m node ls -q | xargs docker -H "unix://$(sock m)" node inspect --format '{{range .Description.Engine.Plugins}}{{.Name}} {{end}}' |
      grep -c -w "$plugin")" == "${#nodes[@]}" ]]
  }
  wait_for "volume plugin $plugin known to every node" everywhere
}

up() {
  [[ "$(id -u)" == 0 ]] || die "must run as root"
  command -v dockerd >/dev/null || die "dockerd is missing (test/infra/engine.sh installs it)"
  mkdir -p "$run_dir"
  wire
  manager_outside
  local n
  for n in "${nodes[@]}"; do start_engine "$n"; done
  form_swarm
  start_plugin
  announce_plugin
  (($#)) && load_images "$@"
  log "ready: manager unix://$(sock m), workers ${nodes[*]:1}"
}

down() {
  local n pid
  for n in "${nodes[@]}"; do
    if [[ -f "$run_dir/$n/dockerd.pid" ]]; then
      pid=$(cat "$run_dir/$n/dockerd.pid")
      kill "$pid" 2>/dev/null || true
      for ((i = 0; i < 120 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    ip netns del "$(ns "$n")" 2>/dev/null || true
  done
  if [[ -f "$run_dir/$plugin.pid" ]]; then kill "$(cat "$run_dir/$plugin.pid")" 2>/dev/null || true; fi
  rm -f "/run/docker/plugins/$plugin.sock"
  local rule table chain rest
  for rule in "${nat_rules[@]}"; do
    read -r table chain rest <<<"$rule"
    # shellcheck disable=SC2086 # the rule's words
    while iptables -t "$table" -D "$chain" $rest 2>/dev/null; do :; done
  done
  ip link del gmapsw-host 2>/dev/null || true
  ip netns del "$switch" 2>/dev/null || true
  # engines leave mounts (overlay2, netns) below their directories
  { grep -o " $data_dir[^ ]*\| $run_dir[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$run_dir" "$data_dir"
  log "removed"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  load) shift; load_images "$@" ;;
  down) down ;;
  env)
    echo "MANAGER_HOST=unix://$(sock m)"
    for n in "${nodes[@]}"; do echo "NODE_${n}_HOST=unix://$(sock "$n")"; echo "NODE_${n}_ADDR=${addr[$n]}"; done
    echo "SHARE_DIR=$share_dir"
    ;;
  *) die "usage: $0 up [IMAGE...] | load IMAGE... | down | env" ;;
esac
