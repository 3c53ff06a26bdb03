set -eu
cd "$1"
owner="$2"
shift 2
for name in "$@"; do
  # ./: a name may begin with "-" (an escaped "_"), which mkdir and chown would take for an option
  dir="./$name"
  if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
    # the start of another of the user's servers may make it meanwhile (named servers): then that one owns it
    if mkdir -m 0700 "$dir" 2>/dev/null; then
      chown "$owner" "$dir"
    elif [ ! -d "$dir" ] || [ -L "$dir" ]; then
      mkdir -m 0700 "$dir"
    fi
  fi
done
