# Helpers the test infrastructure scripts share (sourced). The sourcing script defines `die` (prints
# its message and exits) and `wait_seconds` (the bound of every wait).

wait_for() { # wait_for <what> <command...>: until the command succeeds, bounded in tries and time
  local what=$1 i deadline=$((SECONDS + wait_seconds)); shift
  for ((i = 0; i < wait_seconds * 4 && SECONDS < deadline; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "$what: still not ready after ${wait_seconds}s"
}
