set -eu
cd "$1"
owner="$2"
shift 2
for name in "$@"; do
  # ./: a name may begin with "-" (an escaped "_"), which mkdir and chown would take for an option
  dir="./$name"
  if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
    mkdir -m 0700 "$dir"
    chown "$owner" "$dir"
  fi
done
