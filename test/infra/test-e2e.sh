#!/usr/bin/env bash
# End-to-end tests. With HUB_URL and HUB_TOKEN set, they run against that hub (e.g. one deployed by
# `pulumi up`); scenarios that reconfigure the deployment skip themselves. Otherwise the e2e stack
# (Pulumi.e2e.yaml) is deployed with the real Pulumi CLI (`pulumi up`, local file backend in
# .e2e-state/), tested, and destroyed with its volumes. Arguments select test files (default: all).
# The whole suite (no arguments) then runs the native-account and persistence scenarios once more
# against the e2e-pg stack (Pulumi.e2e-pg.yaml: the hub database in PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -gt 0 ]; then tests=("$@"); else tests=(test/e2e/*.test.ts); fi
run() { node --import tsx --test --test-concurrency=1 --test-timeout=1200000 "$@"; }

if [ -n "${HUB_URL:-}" ] && [ -n "${HUB_TOKEN:-}" ]; then
  run "${tests[@]}"
  exit
fi

. test/infra/pulumi-env.sh
pulumi version
# the policy pack's own dependencies (scenario 26 runs it), then its type check
[ -d policy/node_modules/@pulumi/policy ] || npm ci --prefix policy --no-audit --no-fund
npx tsc --noEmit -p policy
mkdir -p test-artifacts
deployed=()
collect() {
  local stack prefix
  for stack in "${deployed[@]}"; do
    prefix=$(sed -n 's/^ *jupyterhub:prefix: *//p' "Pulumi.$stack.yaml")
    for c in "$prefix-hub" "$prefix-proxy"; do docker logs "$c" > "test-artifacts/$c.log" 2>&1 || true; done
    node --import tsx test/e2e/deploy.ts down "$stack" > "test-artifacts/deploy-down-$stack.log" 2>&1 ||
      echo "warning: removing the $stack stack failed, see test-artifacts/deploy-down-$stack.log" >&2
  done
  deployed=()
}
trap collect EXIT

# deploy <stack>: `pulumi up` of the stack; exports E2E_STACK, HUB_URL, HUB_TOKEN, E2E_ADMIN_USER, E2E_ADMIN_PASSWORD
deploy() {
  local out
  deployed+=("$1")
  out=$(node --import tsx test/e2e/deploy.ts up "$1" 2> >(tee "test-artifacts/deploy-up-$1.log" >&2))
  E2E_STACK=$1
  HUB_URL=$(sed -n 's/^HUB_URL=//p' <<<"$out")
  HUB_TOKEN=$(sed -n 's/^HUB_TOKEN=//p' <<<"$out")
  E2E_ADMIN_USER=$(sed -n 's/^E2E_ADMIN_USER=//p' <<<"$out")
  E2E_ADMIN_PASSWORD=$(sed -n 's/^E2E_ADMIN_PASSWORD=//p' <<<"$out")
  [ -n "$HUB_URL" ] && [ -n "$HUB_TOKEN" ] || { echo "deploy.ts printed no HUB_URL/HUB_TOKEN for $1" >&2; exit 1; }
  export E2E_STACK HUB_URL HUB_TOKEN E2E_ADMIN_USER E2E_ADMIN_PASSWORD
}

deploy e2e
run "${tests[@]}"
collect

if [ $# -eq 0 ]; then
  echo "== native-account and persistence scenarios with the hub database in PostgreSQL (e2e-pg)"
  deploy e2e-pg
  run test/e2e/02-native-auth.test.ts test/e2e/05-persistence.test.ts
fi
