set -eu
cd "$1"
owner="$2"
shift 2
for dir in "$@"; do
  if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
    mkdir -m 0700 "$dir"
    chown "$owner" "$dir"
  fi
done
