set -eu
if [ -z "${GMAP_START_HOOK:-}" ]; then
  echo "$0: GMAP_START_HOOK is empty; refusing to start without the start hook" >&2
  exit 1
fi
hook="$(mktemp "${TMPDIR:-/tmp}/gmap-start-hook.XXXXXX")"
printf '%s' "$GMAP_START_HOOK" | base64 -d > "$hook"
chmod 0700 "$hook"
unset GMAP_START_HOOK
echo "$0: running the start hook as uid $(id -u)" >&2
"$hook" || {
  status=$?
  rm -f "$hook"
  echo "$0: the start hook failed with exit status $status; not starting the server" >&2
  sleep 60  # until the hub, which reads this log, stops the container
  exit "$status"
}
rm -f "$hook"
echo "$0: the start hook succeeded; starting the server" >&2
exec "$@"
