#!/usr/bin/env bash
# `npm test`: type check, unit tests, Python tests, then the end-to-end tests on the local Docker
# engine (installed and started when missing) with the offline stand-in images.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== type check"; npm run -s build
echo "== unit tests"; npm run -s test:unit
echo "== python tests"; npm run -s test:python
echo "== docker engine"; bash scripts/engine.sh
echo "== stand-in images"; bash scripts/standins.sh
echo "== end-to-end tests"; npm run -s test:e2e
