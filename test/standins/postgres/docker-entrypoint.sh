#!/bin/bash
# Entrypoint of the PostgreSQL stand-in (see Dockerfile): as root, takes the password from
# POSTGRES_PASSWORD_FILE, prepares the data directory and restarts itself as postgres; as postgres,
# initialises an empty data directory (role POSTGRES_USER with the password, database POSTGRES_DB,
# remote logins by password) with a server that listens on the Unix socket only, then runs the
# command (postgres) in the foreground.
set -euo pipefail

say() { echo "docker-entrypoint: $*" >&2; }

if [[ "${1:-}" == -* ]]; then set -- postgres "$@"; fi
if [[ "${1:-}" != postgres ]]; then exec "$@"; fi

if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
  if [[ -n "${POSTGRES_PASSWORD:-}" ]]; then
    say "error: both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set (they are exclusive)"
    exit 1
  fi
  POSTGRES_PASSWORD="$(<"$POSTGRES_PASSWORD_FILE")"
  export POSTGRES_PASSWORD
  unset POSTGRES_PASSWORD_FILE
fi
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"

if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$auth" != trust ]]; then
    say "error: the data directory is empty and no password is set: set POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE"
    exit 1
  fi
  say "initialising $PGDATA (role $POSTGRES_USER, database $POSTGRES_DB)"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS holds several arguments
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") ${POSTGRES_INITDB_ARGS:-} >&2
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >&2
  if [[ "$POSTGRES_DB" != postgres ]]; then
    # from stdin, where psql quotes the name (:"db")
    echo 'CREATE DATABASE :"db";' |
      psql -v ON_ERROR_STOP=1 --no-psqlrc --username="$POSTGRES_USER" --dbname=postgres --set=db="$POSTGRES_DB" >&2
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  say "initialised; starting the server"
fi
unset POSTGRES_PASSWORD
exec "$@"
