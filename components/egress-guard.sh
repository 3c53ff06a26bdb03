#!/bin/sh
# The egress guard (components/egress-guard.ts on the Docker host, components/egress-guard-service.ts
# on each Swarm node that may run servers) keeps the user servers' egress rules in the firewall of
# the host it runs on. It runs in that host's network namespace and with its filesystem, so the
# iptables it calls is the host's own, the one Docker uses. It installs the rules (EGRESS_RULES,
# iptables-restore input made by components/egress.ts), puts a jump to them first in DOCKER-USER
# (forwarded packets) and in INPUT (packets to the host itself) for the servers' packets (from the
# user networks' pool EGRESS_POOL, or in through the interface EGRESS_INTERFACE: a Swarm node's
# docker_gwbridge), puts them back whenever they are gone (a firewall reload, an engine restart;
# checked every EGRESS_CHECK_SECONDS), and removes them when it is stopped. Started again (restart
# policy), it installs them again. With the argument `check` (the healthcheck) it only says whether
# the jumps are in place.
set -eu
: "${EGRESS_POOL:?}" "${EGRESS_RULES:?}" "${EGRESS_FORWARD:?}" "${EGRESS_INPUT:?}" "${EGRESS_DENY:?}"
interval="${EGRESS_CHECK_SECONDS:-5}"
# the servers' packets: by source address, or by the interface they come in through
if [ -n "${EGRESS_INTERFACE:-}" ]; then
  from=-i from_value="$EGRESS_INTERFACE" servers="the servers' packets in through $EGRESS_INTERFACE"
else
  from=-s from_value="$EGRESS_POOL" servers="$EGRESS_POOL"
fi

ipt() { iptables -w 10 "$@"; }

in_place() {
  ipt -C DOCKER-USER "$from" "$from_value" -j "$EGRESS_FORWARD" 2>/dev/null && ipt -C INPUT "$from" "$from_value" -j "$EGRESS_INPUT" 2>/dev/null
}

install() {
  if ! ipt -n -L DOCKER-USER >/dev/null 2>&1; then
    echo "egress guard: the firewall has no DOCKER-USER chain (is dockerd running with --iptables=false?): the rules cannot be kept" >&2
    return 1
  fi
  printf '%s' "$EGRESS_RULES" | iptables-restore -w 10 --noflush
  ipt -C DOCKER-USER "$from" "$from_value" -j "$EGRESS_FORWARD" 2>/dev/null || ipt -I DOCKER-USER 1 "$from" "$from_value" -j "$EGRESS_FORWARD"
  ipt -C INPUT "$from" "$from_value" -j "$EGRESS_INPUT" 2>/dev/null || ipt -I INPUT 1 "$from" "$from_value" -j "$EGRESS_INPUT"
  echo "egress guard: rules in place for $servers ($EGRESS_FORWARD, $EGRESS_INPUT)"
}

remove() {
  for _ in 1 2 3 4 5 6 7 8; do ipt -D DOCKER-USER "$from" "$from_value" -j "$EGRESS_FORWARD" 2>/dev/null || break; done
  for _ in 1 2 3 4 5 6 7 8; do ipt -D INPUT "$from" "$from_value" -j "$EGRESS_INPUT" 2>/dev/null || break; done
  for chain in "$EGRESS_FORWARD" "$EGRESS_INPUT" "$EGRESS_DENY"; do ipt -F "$chain" 2>/dev/null || true; done
  for chain in "$EGRESS_FORWARD" "$EGRESS_INPUT" "$EGRESS_DENY"; do ipt -X "$chain" 2>/dev/null || true; done
  echo "egress guard: rules removed"
}

if [ "${1:-}" = check ]; then
  in_place && exit 0
  exit 1
fi

trap 'remove; exit 0' TERM INT
install
while :; do
  sleep "$interval" &
  wait $! || true
  if ! in_place; then
    echo "egress guard: rules missing, installing them again" >&2
    install || true
  fi
done
