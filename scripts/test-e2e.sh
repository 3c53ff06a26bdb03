#!/usr/bin/env bash
# End-to-end tests. With HUB_URL and HUB_TOKEN set, they run against that hub (e.g. one deployed by
# `pulumi up`); scenarios that need to restart or reconfigure the deployment skip themselves.
# Otherwise the e2e stack (Pulumi.e2e.yaml) is brought up on the local engine through the harness,
# tested, and removed with its volumes. Arguments select test files (default: all of test/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then tests=("$@"); else tests=(test/e2e/*.test.ts); fi
run() { node --import tsx --test --test-concurrency=1 --test-timeout=900000 "${tests[@]}"; }

if [ -n "${HUB_URL:-}" ] && [ -n "${HUB_TOKEN:-}" ]; then
  run
  exit
fi

export E2E_STACK=e2e E2E_RUN_ID=e2e-ci
mkdir -p test-artifacts
collect() {
  for c in gmap-e2e-hub gmap-e2e-proxy; do docker logs "$c" > "test-artifacts/$c.log" 2>&1 || true; done
  npm run -s local:down -- "$E2E_STACK" --run-id "$E2E_RUN_ID" --volumes > test-artifacts/local-down.log 2>&1 || true
}
trap collect EXIT
npm run -s local:janitor || echo "warning: the janitor could not remove every leftover of earlier runs" >&2
out=$(npm run -s local:up -- "$E2E_STACK" --run-id "$E2E_RUN_ID")
grep -v '^HUB_TOKEN=' <<<"$out" | tee test-artifacts/local-up.log
HUB_URL=$(sed -n 's/^HUB_URL=//p' <<<"$out")
HUB_TOKEN=$(sed -n 's/^HUB_TOKEN=//p' <<<"$out")
[ -n "$HUB_URL" ] && [ -n "$HUB_TOKEN" ] || { echo "local:up printed no HUB_URL/HUB_TOKEN" >&2; exit 1; }
export HUB_URL HUB_TOKEN
run
