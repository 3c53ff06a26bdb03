# Quotas of per-user directories on Btrfs (the homes, per-user storage), run as root with
# CAP_SYS_ADMIN in a helper container of the hub's image that has their fixed parent directory at $1
# (gmap_hub/spawner/quota.py):
#   check                        the parent is on Btrfs with quotas enabled (else a message, status 3)
#   limit OWNER DIR=BYTES...     each DIR a subvolume (created owned by OWNER, mode 0700, when missing;
#                                a plain directory is refused: its data would not count), limited to BYTES
#   relimit DIR=BYTES...         each existing subvolume DIR limited to BYTES (missing ones are left to their first start)
#   usage DIR...                 one line per existing DIR: DIR USED_BYTES LIMIT_BYTES (none: no limit)
set -eu
cd "$1"
action="$2"
shift 2
case "$action" in
check)
  fs="$(stat -f -c %T .)"
  if [ "$fs" != "btrfs" ]; then
    echo "it is on $fs, not Btrfs: the quota needs a Btrfs file system there" >&2
    exit 3
  fi
  if ! btrfs qgroup show . >/dev/null 2>&1; then
    echo "quotas are not enabled on its Btrfs file system: run btrfs quota enable on it" >&2
    exit 3
  fi
  ;;
limit)
  owner="$1"
  shift
  for item in "$@"; do
    # ./: a name may begin with "-" (an escaped "_"), which the commands would take for an option
    dir="./${item%=*}"
    bytes="${item##*=}"
    if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
      # the start of another of the user's servers may make it meanwhile (named servers): then that one owns it
      if btrfs subvolume create "$dir" >/dev/null 2>&1; then
        chown "$owner" "$dir"
        chmod 0700 "$dir"
      elif ! btrfs subvolume show "$dir" >/dev/null 2>&1; then
        btrfs subvolume create "$dir" >/dev/null
      fi
    elif ! btrfs subvolume show "$dir" >/dev/null 2>&1; then
      echo "$dir is a plain directory, not a Btrfs subvolume, so no quota can hold it: move its files into a subvolume of that name (docs/storage.md)" >&2
      exit 3
    fi
    btrfs qgroup limit "$bytes" "$dir"
  done
  ;;
relimit)
  for item in "$@"; do
    dir="./${item%=*}"
    if btrfs subvolume show "$dir" >/dev/null 2>&1; then
      btrfs qgroup limit "${item##*=}" "$dir"
    fi
  done
  ;;
usage)
  # the counts as of now, not of the last transaction
  btrfs filesystem sync . >/dev/null
  for dir in "$@"; do
    [ -d "./$dir" ] || continue
    btrfs qgroup show -rf --raw "./$dir" | awk -v d="$dir" '$1 ~ /^0\// { print d, $2, $4 }'
  done
  ;;
*)
  echo "unknown action $action" >&2
  exit 2
  ;;
esac
