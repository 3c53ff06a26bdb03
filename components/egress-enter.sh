#!/bin/sh
# Runs its arguments in the mount namespace of the Docker engine that serves this network namespace
# (the egress guard runs in the host's network and process namespaces, components/egress-guard.ts):
# there they see the engine's own filesystem, so `iptables` is the one Docker uses, with its lock
# file. The engine is the dockerd process whose network namespace is this one.
set -eu
self="$(readlink /proc/self/ns/net)"
engine=""
for dir in /proc/[0-9]*; do
  [ "$(cat "$dir/comm" 2>/dev/null)" = dockerd ] || continue
  [ "$(readlink "$dir/ns/net" 2>/dev/null)" = "$self" ] || continue
  engine="${dir#/proc/}"
  break
done
if [ -z "$engine" ]; then
  echo "egress guard: no Docker engine (dockerd) in this network namespace" >&2
  exit 1
fi
exec nsenter --target "$engine" --mount -- "$@"
