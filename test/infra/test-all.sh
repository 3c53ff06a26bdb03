#!/usr/bin/env bash
# `npm test`: type check, unit tests, Python tests, then the end-to-end tests on the local Docker
# engine (installed and started when missing) with the offline stand-in images, deployed with the
# real Pulumi CLI (built from source in the background meanwhile when there is none).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p test-artifacts
( . test/infra/pulumi-env.sh ) > test-artifacts/pulumi-cli.log 2>&1 &
cli=$!
# the registry stand-in's binary (Go, a minute or two), for the scenarios that pull from a registry
bash test/infra/registry.sh build > test-artifacts/registry-build.log 2>&1 &
registry=$!
echo "== type check"; npm run -s build
echo "== lint"; npm run -s lint
echo "== unit tests"; npm run -s test:unit
echo "== python tests"; npm run -s test:python
echo "== docker engine"; bash test/infra/engine.sh
echo "== stand-in images"; bash test/infra/standins.sh
echo "== pulumi CLI"; wait "$cli" || { cat test-artifacts/pulumi-cli.log >&2; exit 1; }
echo "== registry stand-in"; wait "$registry" || { cat test-artifacts/registry-build.log >&2; exit 1; }
echo "== end-to-end tests"; npm run -s test:e2e
