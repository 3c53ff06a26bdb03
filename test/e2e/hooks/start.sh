#!/bin/sh
# End-to-end start hook: runs as the notebook user before the server starts.
set -e
ln -sfn "$ISISDATA" "$HOME/isis-data"
printf '%s %s %s\n' "$(id -u)" "$GMAP_PRE_SPAWN_USER" "$GMAP_POST_AUTH_SEEN" > "$HOME/gmap-start-hook.txt"
