#!/bin/sh
# End-to-end start hook: runs as the notebook user before the server starts.
set -e
ln -sfn "$ISISDATA" "$HOME/isis-data"
printf '%s %s %s\n' "$(id -u)" "$GMAP_PRE_SPAWN_USER" "$GMAP_POST_AUTH_SEEN" > "$HOME/gmap-start-hook.txt"
# Users named hookfail-*: the hook fails after some output (test/e2e/11-spawner-safety.test.ts)
case "$JUPYTERHUB_USER" in
  hookfail-*)
    i=1
    while [ "$i" -le 30 ]; do
      echo "hook line $i"
      if [ "$i" -eq 25 ]; then echo "the API token is $JUPYTERHUB_API_TOKEN"; fi
      i=$((i + 1))
    done
    exit 7
    ;;
esac
