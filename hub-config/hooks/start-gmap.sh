#!/bin/sh
# Runs as the notebook user in every notebook container before the server starts.
# Links the shared data archives into the home directory and drops a short README there.
set -e
for dir in /mnt/data /mnt/isis/data; do
  if [ -d "$dir" ] && [ ! -e "$HOME/$(basename "$dir")" ]; then
    ln -s "$dir" "$HOME/$(basename "$dir")"
  fi
done
if [ ! -e "$HOME/README-GMAP.md" ]; then
  cat > "$HOME/README-GMAP.md" <<'README'
# Europlanet GMAP JupyterHub

- `work/` is yours and persists across restarts.
- `shared/` is shared by everyone on this hub.
- `data/` and `data/isis` (ISISDATA) are read-only archives.
README
fi
