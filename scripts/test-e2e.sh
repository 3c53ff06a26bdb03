#!/usr/bin/env bash
# End-to-end tests. With HUB_URL and HUB_TOKEN set, they run against that hub (e.g. one deployed by
# `pulumi up`); scenarios that reconfigure the deployment skip themselves. Otherwise the e2e stack
# (Pulumi.e2e.yaml) is deployed with the real Pulumi CLI (`pulumi up`, local file backend in
# .e2e-state/), tested, and destroyed with its volumes. Arguments select test files (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then tests=("$@"); else tests=(test/e2e/*.test.ts); fi
run() { node --import tsx --test --test-concurrency=1 --test-timeout=1200000 "${tests[@]}"; }

if [ -n "${HUB_URL:-}" ] && [ -n "${HUB_TOKEN:-}" ]; then
  run
  exit
fi

. scripts/pulumi-env.sh
pulumi version
export E2E_STACK=e2e
mkdir -p test-artifacts
collect() {
  for c in gmap-e2e-hub gmap-e2e-proxy; do docker logs "$c" > "test-artifacts/$c.log" 2>&1 || true; done
  node --import tsx test/e2e/deploy.ts down "$E2E_STACK" > test-artifacts/deploy-down.log 2>&1 ||
    echo "warning: removing the e2e stack failed, see test-artifacts/deploy-down.log" >&2
}
trap collect EXIT
out=$(node --import tsx test/e2e/deploy.ts up "$E2E_STACK" 2> >(tee test-artifacts/deploy-up.log >&2))
HUB_URL=$(sed -n 's/^HUB_URL=//p' <<<"$out")
HUB_TOKEN=$(sed -n 's/^HUB_TOKEN=//p' <<<"$out")
E2E_ADMIN_USER=$(sed -n 's/^E2E_ADMIN_USER=//p' <<<"$out")
E2E_ADMIN_PASSWORD=$(sed -n 's/^E2E_ADMIN_PASSWORD=//p' <<<"$out")
[ -n "$HUB_URL" ] && [ -n "$HUB_TOKEN" ] || { echo "deploy.ts printed no HUB_URL/HUB_TOKEN" >&2; exit 1; }
export HUB_URL HUB_TOKEN E2E_ADMIN_USER E2E_ADMIN_PASSWORD
run
