#!/usr/bin/env bash
# Python tests of the hub configuration (hub-config/): loads the real jupyterhub_config.py through
# JupyterHub's config loader with generated settings/secrets JSON and checks the resulting traitlets;
# and of the backup helpers' programs (ops/backups/programs/), run on real SQLite files.
#
# Creates .venv when it is missing or when hub-config/requirements.txt or test/python/requirements.txt
# changed (their hash is kept in .venv/.requirements.sha256), then lints with ruff (ruff.toml) and runs
# pytest. Idempotent.
# Tunables: PYTHON (interpreter that creates the venv, default python3), extra pytest arguments as
# this script's arguments.
set -euo pipefail

cd "$(dirname "$0")/../.."

python="${PYTHON:-python3}"
venv=.venv
stamp="$venv/.requirements.sha256"
requirements=(hub-config/requirements.txt test/python/requirements.txt)

log() { echo "test-python: $*" >&2; }

command -v "$python" >/dev/null 2>&1 || { log "ERROR: $python not found"; exit 1; }

wanted="$({ "$python" -c 'import sys; print(sys.version)'; cat "${requirements[@]}"; } | sha256sum | cut -d' ' -f1)"

if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  log "creating $venv from ${requirements[*]}"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r hub-config/requirements.txt -r test/python/requirements.txt
  echo "$wanted" >"$stamp"
else
  log "$venv is up to date"
fi

"$venv/bin/ruff" check --no-cache
"$venv/bin/ruff" format --check --no-cache
exec "$venv/bin/python" -m pytest test/python -q -p no:cacheprovider "$@"
