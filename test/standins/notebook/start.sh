#!/bin/bash
# Entrypoint of the notebook stand-in images (run by tini). Reproduces the docker-stacks start.sh
# behaviour the hub relies on:
#   1. run hooks in /usr/local/bin/start-notebook.d as the user the container started as;
#   2. started as root: give jovyan NB_UID/NB_GID, chown the home (CHOWN_HOME=1|yes, with
#      CHOWN_HOME_OPTS) and CHOWN_EXTRA paths (comma-separated, with CHOWN_EXTRA_OPTS), run the
#      hooks in /usr/local/bin/before-notebook.d as root, then drop to jovyan and exec the command;
#   3. started as another user: make sure the uid has a passwd entry, run before-notebook.d as
#      that user and exec the command.
# Hooks: *.sh files are sourced, other executables run, anything else ignored; a failing hook is
# logged and the start goes on. Variables named in JUPYTER_ENV_VARS_TO_UNSET are unset before the
# command runs. Without arguments the command is bash.
set -e

_log() { echo "start.sh: $*" >&2; }

_log "Entered start.sh with args: $*"

NB_USER="${NB_USER:-jovyan}"
NB_UID="${NB_UID:-1000}"
NB_GID="${NB_GID:-100}"

if [ $# -eq 0 ]; then
    cmd=(bash)
else
    cmd=("$@")
fi

# start.sh is the ENTRYPOINT: listed again in CMD it must not run twice
if [ "${_START_SH_EXECUTED:-}" = "1" ]; then
    _log "WARNING: start.sh is the default ENTRYPOINT, do not include it in CMD"
    exec "${cmd[@]}"
fi
export _START_SH_EXECUTED=1

run_hooks() {
    local dir="$1" hook rc
    [ -d "$dir" ] || return 0
    _log "Running hooks in: $dir as uid: $(id -u) gid: $(id -g)"
    for hook in "$dir"/*; do
        [ -e "$hook" ] || continue
        case "$hook" in
            *.sh)
                _log "Sourcing shell script: $hook"
                set +e
                # shellcheck disable=SC1090
                source "$hook"
                rc=$?
                set -e
                [ "$rc" -eq 0 ] || _log "ERROR: $hook has failed (exit $rc), continuing execution"
                ;;
            *)
                if [ -x "$hook" ]; then
                    _log "Running executable: $hook"
                    set +e
                    "$hook"
                    rc=$?
                    set -e
                    [ "$rc" -eq 0 ] || _log "ERROR: $hook has failed (exit $rc), continuing execution"
                else
                    _log "Ignoring non-executable: $hook"
                fi
                ;;
        esac
    done
    _log "Done running hooks in: $dir"
}

unset_explicit_env_vars() {
    local var
    if [ -n "${JUPYTER_ENV_VARS_TO_UNSET:-}" ]; then
        for var in ${JUPYTER_ENV_VARS_TO_UNSET//,/ }; do
            _log "Unset $var due to JUPYTER_ENV_VARS_TO_UNSET"
            unset "$var"
        done
        unset JUPYTER_ENV_VARS_TO_UNSET
    fi
}

# hooks that run as whichever user the container was started as
run_hooks /usr/local/bin/start-notebook.d

if [ "$(id -u)" = 0 ]; then
    if [ "$NB_USER" != "jovyan" ]; then
        _log "WARNING: NB_USER=$NB_USER is not supported by this image; the user stays jovyan"
        NB_USER=jovyan
    fi
    if [ "$NB_UID" != "$(id -u jovyan)" ] || [ "$NB_GID" != "$(id -g jovyan)" ]; then
        _log "Update jovyan's UID:GID to $NB_UID:$NB_GID"
        if [ "$NB_GID" != "$(id -g jovyan)" ]; then
            groupadd --force --gid "$NB_GID" --non-unique "${NB_GROUP:-jovyan}"
        fi
        # recreate rather than usermod: usermod would chown the whole home directory
        userdel jovyan
        useradd --no-log-init --home /home/jovyan --shell /bin/bash \
            --uid "$NB_UID" --gid "$NB_GID" --groups 100 jovyan
    fi

    if [ "${CHOWN_HOME:-}" = "1" ] || [ "${CHOWN_HOME:-}" = "yes" ]; then
        _log "Ensuring /home/jovyan is owned by $NB_UID:$NB_GID ${CHOWN_HOME_OPTS:+(chown options: $CHOWN_HOME_OPTS)}"
        # shellcheck disable=SC2086
        chown ${CHOWN_HOME_OPTS:-} "$NB_UID:$NB_GID" /home/jovyan
    fi
    if [ -n "${CHOWN_EXTRA:-}" ]; then
        for extra in ${CHOWN_EXTRA//,/ }; do
            _log "Ensuring $extra is owned by $NB_UID:$NB_GID ${CHOWN_EXTRA_OPTS:+(chown options: $CHOWN_EXTRA_OPTS)}"
            # shellcheck disable=SC2086
            chown ${CHOWN_EXTRA_OPTS:-} "$NB_UID:$NB_GID" "$extra"
        done
    fi
    if [ "${GRANT_SUDO:-}" = "1" ] || [ "${GRANT_SUDO:-}" = "yes" ]; then
        _log "WARNING: GRANT_SUDO is not supported by this image (no sudo)"
    fi

    # these hooks run as root
    run_hooks /usr/local/bin/before-notebook.d
    unset_explicit_env_vars

    _log "Running as jovyan ($NB_UID:$NB_GID): ${cmd[*]}"
    export HOME=/home/jovyan USER=jovyan LOGNAME=jovyan
    exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "${cmd[@]}"
else
    if ! whoami >/dev/null 2>&1; then
        _log "There is no entry in /etc/passwd for our UID=$(id -u). Attempting to fix..."
        if [ -w /etc/passwd ]; then
            sed -e "s/^jovyan:/nayvoj:/" /etc/passwd >/tmp/passwd
            echo "jovyan:x:$(id -u):$(id -g):,,,:/home/jovyan:/bin/bash" >>/tmp/passwd
            cat /tmp/passwd >/etc/passwd
            rm -f /tmp/passwd
            _log "Added new jovyan user ($(id -u):$(id -g)). Fixed UID!"
        else
            _log "WARNING: unable to fix the missing /etc/passwd entry (no write permission)"
        fi
    fi
    if [ "$NB_UID" != "$(id -u)" ] && [ "$NB_UID" != "1000" ]; then
        _log "WARNING: container must be started as root to change the user's id with NB_UID=$NB_UID"
    fi
    if [ ! -w /home/jovyan ]; then
        _log "WARNING: no write access to /home/jovyan. Try starting the container with group 'users' (100)."
    fi

    # these hooks run as the current user
    run_hooks /usr/local/bin/before-notebook.d
    unset_explicit_env_vars

    _log "Executing the command: ${cmd[*]}"
    exec "${cmd[@]}"
fi
