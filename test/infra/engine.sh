#!/usr/bin/env bash
# Makes sure a Docker engine is running on this (Debian) machine, plus the host tools the tests use.
#
# - installs Debian's docker.io, mmdebstrap (stand-in images), chromium (browser tests) and btrfs-progs
#   (the homes' quota scenario makes a Btrfs file system in a loop-mounted file), with one
#   `apt-get update` + `apt-get install`, only when one of them is missing;
# - starts dockerd in the background (log: /tmp/dockerd.log) only when `docker info` fails;
# - waits, bounded, until `docker info` answers. An engine that already answers is left alone.
#
# `engine.sh restart` stops the running engine first, as a host restart would (dockerd stops its
# containers, the restart policies start them again), waiting until dockerd and its containerd
# have exited.
#
# Idempotent; works from any directory, with CI=true and without stdin. Must run as root.
# Tunables: ENGINE_WAIT_SECONDS (default 60), DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail

exec </dev/null

wait_seconds="${ENGINE_WAIT_SECONDS:-60}"
dockerd_log="${DOCKERD_LOG:-/tmp/dockerd.log}"

log() { echo "engine: $*" >&2; }
die() { echo "engine: ERROR: $*" >&2; exit 1; }

engine_answers() { timeout 5 docker info >/dev/null 2>&1; }
# The engine of /var/run/docker.sock is running (other dockerds, e.g. the swarm test cluster's, do not count).
main_dockerd() { [[ -s /var/run/docker.pid ]] && [[ "$(cat "/proc/$(cat /var/run/docker.pid)/comm" 2>/dev/null)" == dockerd ]]; }

# --- 1. host packages ---------------------------------------------------------------------------
# command -> Debian package that provides it
declare -A providers=(
  [dockerd]=docker.io
  [docker]=docker.io
  [mmdebstrap]=mmdebstrap
  [chromium]=chromium
  [mkfs.btrfs]=btrfs-progs
)
missing=()
for cmd in dockerd docker mmdebstrap chromium mkfs.btrfs; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    pkg="${providers[$cmd]}"
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  [[ "$(id -u)" == 0 ]] || die "missing ${missing[*]} and not root: cannot apt-get install"
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get on this machine"
  log "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0 -o APT::Color=0)
  timeout 600 apt-get "${apt_opts[@]}" update -q ||
    die "apt-get update failed (is the Debian mirror reachable?)"
  timeout 1500 apt-get "${apt_opts[@]}" install -y -q "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
  for cmd in dockerd docker mmdebstrap chromium mkfs.btrfs; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still not on PATH after installing ${missing[*]}"
  done
fi

# --- 2. the engine ------------------------------------------------------------------------------
if [[ "${1:-}" == restart ]]; then
  [[ -s /var/run/docker.pid ]] || die "restart: no /var/run/docker.pid: the engine was not started by dockerd here"
  pid="$(cat /var/run/docker.pid)"
  # this engine's processes only (the swarm test cluster's engines run beside it)
  running() { main_dockerd || pgrep -f '^containerd --config /var/run/docker/containerd/containerd.toml' >/dev/null; }
  log "stopping dockerd ($pid)"
  kill -TERM "$pid"
  for ((i = 0; i < wait_seconds * 4; i++)); do
    running || break
    sleep 0.25
  done
  ! running || die "restart: dockerd $pid or its containerd still running after ${wait_seconds}s"
fi
if engine_answers; then
  log "docker engine already running ($(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
fi

if main_dockerd; then
  # A dockerd exists but does not answer yet (still starting): wait for it, never start a second one.
  log "dockerd is running but not answering yet; waiting"
else
  [[ "$(id -u)" == 0 ]] || die "docker info fails and only root can start dockerd"
  log "starting dockerd (log: $dockerd_log)"
  # setsid + nohup: the daemon outlives this script and its terminal/session.
  setsid nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
fi

# bounded in tries and in time (each try may itself take up to 5 s)
deadline=$((SECONDS + wait_seconds))
for ((i = 1; i <= wait_seconds && SECONDS < deadline; i++)); do
  if engine_answers; then
    log "docker engine ready after ${SECONDS}s ($(docker version -f '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  if ((i > 2)) && ! main_dockerd; then
    echo "engine: ERROR: dockerd exited; last lines of $dockerd_log:" >&2
    tail -n 40 "$dockerd_log" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 1
done

echo "engine: ERROR: docker info still fails after ${wait_seconds}s; last lines of $dockerd_log:" >&2
tail -n 40 "$dockerd_log" >&2 2>/dev/null || true
exit 1
