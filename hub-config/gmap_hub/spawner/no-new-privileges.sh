# Runs its arguments (the server's command) with no-new-privileges: the kernel's PR_SET_NO_NEW_PRIVS,
# inherited by every process they start and never cleared, so setuid programs (sudo) and file
# capabilities raise no privilege. For a server whose container the engine cannot start with the
# setting itself (a Swarm service: Docker's API before 1.44 has no such field). The image's
# entrypoint runs first, as in host mode without the setting; everything the user runs descends
# from this command. With util-linux's setpriv, else with the image's Python; without either the
# server does not start.
set -eu
if command -v setpriv >/dev/null 2>&1; then
  exec setpriv --no-new-privs -- "$@"
fi
for python in python3 python; do
  if command -v "$python" >/dev/null 2>&1; then
    # isolated (-I): no user site directory, no PYTHON* variables, so nothing of the user's runs first
    exec "$python" -I -c '
import ctypes, os, sys
PR_SET_NO_NEW_PRIVS = 38
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit("gmap-no-new-privileges: prctl(PR_SET_NO_NEW_PRIVS) failed: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
' "$@"
  fi
done
echo "$0: the image has neither setpriv nor python3: the server cannot start with no-new-privileges" >&2
exit 1
