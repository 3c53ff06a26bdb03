#!/usr/bin/env bash
# Builds the offline stand-in images (no container registry is reachable here), tagged localhost/...:
#
#   localhost/gmap-debian:bookworm              Debian rootfs (mmdebstrap | docker import), base of all
#   localhost/jupyterhub:<JH>                   ~ quay.io/jupyterhub/jupyterhub:<JH>
#   localhost/configurable-http-proxy:<CHP>     ~ quay.io/jupyterhub/configurable-http-proxy:<CHP>
#   localhost/notebook-minimal:<JH>             ~ quay.io/jupyter/minimal-notebook (docker-stacks)
#   localhost/notebook-gispy:<JH>               ~ a GIS notebook image (minimal + shapely)
#   localhost/fake-oauth:1                      a fake GitHub/GitLab OAuth provider (e2e tests)
#   localhost/caddy:<CADDY>                     ~ caddy:<CADDY> (the TLS front proxy)
#   localhost/pebble:<PEBBLE>                   Let's Encrypt's ACME test server (HTTPS e2e tests)
#   localhost/postgres:<PG>-bookworm            ~ docker.io/library/postgres:<PG>-bookworm
#   localhost/prometheus:<PROMETHEUS>           ~ quay.io/prometheus/prometheus (Debian's package)
#   localhost/jupyterhub:<JH_PREVIOUS>          an older JupyterHub, what the upgrade test starts from
#   localhost/jupyterhub:<JH_NEXT>              the next major JupyterHub, which the hub image refuses
#
# <JH> is the jupyterhub pin of hub-config/requirements.txt, <CHP>, <CADDY> and <PG> the
# configurableHttpProxy, caddy and postgres entries of versions.json (the postgres stand-in runs
# Debian bookworm's postgresql of the same major version), <PEBBLE>, <PROMETHEUS>, <JH_PREVIOUS>
# and <JH_NEXT> the versions below. Recipes live in test/standins/<name>/. Caddy and Pebble are Go
# modules: their binaries are built here with Go (`go install`, static, through the Go module
# proxy) into $GMAP_GO_BIN_CACHE (default ~/.cache/gmap-standins/go-bin, a few minutes the first
# time) and copied into the build context.
#
# Cached by content: every image carries the label org.europlanet-gmap.recipe=<sha256 of its recipe
# files, build arguments and parent image id> and is rebuilt only when that hash changes. Prints one
# line per image: "built" or "cached".
#
# Usage: test/infra/standins.sh            build what is missing or stale
#        test/infra/standins.sh --print    print KEY=image lines (HUB_BASE, HUB_BASE_PREVIOUS,
#                                       HUB_BASE_NEXT, PROXY, NOTEBOOK_MINIMAL, NOTEBOOK_GISPY,
#                                       FAKE_OAUTH, CADDY, PEBBLE, POSTGRES, PROMETHEUS) without
#                                       building anything
# Env:   STANDINS_VERBOSE=1 streams build output (default: to log files, shown on failure)
#        STANDINS_BUILD_TIMEOUT seconds per image (default 1800)
set -euo pipefail

exec </dev/null

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
recipes="$repo_root/test/standins"

die() { echo "standins: ERROR: $*" >&2; exit 1; }

# --- versions -----------------------------------------------------------------------------------
req_file="$repo_root/hub-config/requirements.txt"
versions_file="$repo_root/versions.json"
[[ -f "$req_file" ]] || die "$req_file is missing"
[[ -f "$versions_file" ]] || die "$versions_file is missing"

JH="$(sed -n 's/^[[:space:]]*jupyterhub[[:space:]]*==[[:space:]]*\([0-9A-Za-z.+-]*\).*/\1/p' "$req_file" | head -n 1)"
[[ "$JH" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "no 'jupyterhub==X.Y.Z' line in $req_file"
CHP="$(tr -d '\n' <"$versions_file" |
  sed -n 's/.*"configurableHttpProxy"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
[[ "$CHP" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "no \"configurableHttpProxy\": \"X.Y.Z\" in $versions_file"
CADDY="$(tr -d '\n' <"$versions_file" | sed -n 's/.*"caddy"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
[[ "$CADDY" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no \"caddy\": \"X.Y.Z\" in $versions_file"
# Let's Encrypt's ACME test server, for the HTTPS e2e tests only
PEBBLE="2.10.3"
PG="$(tr -d '\n' <"$versions_file" | sed -n 's/.*"postgres"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')"
[[ "$PG" =~ ^[0-9]+\.[0-9]+$ ]] || die "no \"postgres\": \"MAJOR.MINOR\" in $versions_file"
# The upstream version of Debian bookworm's `prometheus` package (2.42.0+ds-5+deb12u1), which the
# Prometheus stand-in installs: its build fails when Debian's package is another upstream version.
# Not the "prometheus" pin of versions.json (the real image's 3.x, which bookworm does not have).
PROMETHEUS=2.42.0
# The older JupyterHub of the same major version that test/e2e/17-upgrade.test.ts deploys first
# and upgrades from (JupyterHub 5.0.0 and 5.5.1 share one database schema).
JH_PREVIOUS=5.0.0
# The next major version, not supported yet (docs/operations.md, "Upgrading"): the upgrade test checks that
# `pulumi up` refuses it before the running hub is touched.
JH_NEXT=6.1.1

IMG_DEBIAN="localhost/gmap-debian:bookworm"
IMG_HUB="localhost/jupyterhub:$JH"
IMG_PROXY="localhost/configurable-http-proxy:$CHP"
IMG_NB_MINIMAL="localhost/notebook-minimal:$JH"
IMG_NB_GISPY="localhost/notebook-gispy:$JH"
IMG_FAKE_OAUTH="localhost/fake-oauth:1"
IMG_CADDY="localhost/caddy:$CADDY"
IMG_PEBBLE="localhost/pebble:$PEBBLE"
IMG_POSTGRES="localhost/postgres:$PG-bookworm"
IMG_PROMETHEUS="localhost/prometheus:$PROMETHEUS"
IMG_HUB_PREVIOUS="localhost/jupyterhub:$JH_PREVIOUS"
IMG_HUB_NEXT="localhost/jupyterhub:$JH_NEXT"

if [[ "${1:-}" == "--print" ]]; then
  echo "HUB_BASE=$IMG_HUB"
  echo "PROXY=$IMG_PROXY"
  echo "NOTEBOOK_MINIMAL=$IMG_NB_MINIMAL"
  echo "NOTEBOOK_GISPY=$IMG_NB_GISPY"
  echo "FAKE_OAUTH=$IMG_FAKE_OAUTH"
  echo "CADDY=$IMG_CADDY"
  echo "PEBBLE=$IMG_PEBBLE"
  echo "POSTGRES=$IMG_POSTGRES"
  echo "PROMETHEUS=$IMG_PROMETHEUS"
  echo "HUB_BASE_PREVIOUS=$IMG_HUB_PREVIOUS"
  echo "HUB_BASE_NEXT=$IMG_HUB_NEXT"
  exit 0
elif [[ $# -gt 0 ]]; then
  die "unknown argument '$1' (usage: $0 [--print])"
fi

# --- preconditions ------------------------------------------------------------------------------
command -v docker >/dev/null 2>&1 || die "docker CLI not found: run test/infra/engine.sh first"
timeout 20 docker info >/dev/null 2>&1 || die "docker engine not answering: run test/infra/engine.sh first"

# Plain `docker build` (classic builder): works with Debian's docker.io, which has no buildx.
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"
build_timeout="${STANDINS_BUILD_TIMEOUT:-1800}"
log_dir="${TMPDIR:-/tmp}/gmap-standins"
mkdir -p "$log_dir"

# One run at a time (a second one waits, bounded, then finds everything cached).
exec 9>"$log_dir/.lock"
flock -w "$build_timeout" 9 || die "another test/infra/standins.sh held the lock for ${build_timeout}s"

LABEL_RECIPE="org.europlanet-gmap.recipe"
LABEL_STANDIN="org.europlanet-gmap.standin"

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
image_recipe() { docker image inspect -f "{{ index .Config.Labels \"$LABEL_RECIPE\" }}" "$1" 2>/dev/null || true; }

# sha256 over the recipe directory (relative paths, executable bits, contents) and extra strings
recipe_hash() {
  local dir="$1" f
  shift
  {
    echo "dir ${dir#"$recipes"/}"
    (cd "$dir" && find . -type f | LC_ALL=C sort | while IFS= read -r f; do
      # only the executable bit: the rest of the mode depends on the umask of the checkout
      printf 'file %s %s %s\n' "$f" "$([[ -x "$f" ]] && echo x || echo -)" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done)
    printf 'arg %s\n' "$@"
  } | sha256sum | cut -d' ' -f1
}

# Removes a replaced stand-in image if nothing else uses it (never touches other images).
drop_old() {
  local old_id="$1" new_id="$2"
  [[ -n "$old_id" && "$old_id" != "$new_id" ]] || return 0
  [[ "$(docker image inspect -f "{{ index .Config.Labels \"$LABEL_STANDIN\" }}" "$old_id" 2>/dev/null)" == "true" ]] || return 0
  docker image rm "$old_id" >/dev/null 2>&1 || true
}

show_failure() {
  local log="$1"
  echo "standins: last lines of $log:" >&2
  tail -n 60 "$log" >&2 || true
}

# run "<log file>" cmd...: output to the log (or the terminal with STANDINS_VERBOSE=1)
run_logged() {
  local log="$1"
  shift
  if [[ "${STANDINS_VERBOSE:-0}" == "1" ]]; then
    "$@" 2>&1 | tee "$log"
  else
    "$@" >"$log" 2>&1
  fi
}

# --- 1. Debian rootfs ---------------------------------------------------------------------------
# Trust anchors added locally on this host (Debian's /usr/local/share/ca-certificates, e.g. the CA
# of a TLS-inspecting egress proxy) are copied into the rootfs, so that apt, pip and npm inside
# the builds, and builds derived from the stand-ins, trust the same servers as the host. They are
# part of the recipe hash: a changed CA rebuilds every image.
host_ca_dir="${STANDINS_HOST_CA_DIR:-/usr/local/share/ca-certificates}"
host_cas=()
if [[ -d "$host_ca_dir" ]]; then
  while IFS= read -r f; do host_cas+=("$f"); done < <(find "$host_ca_dir" -type f -name '*.crt' | LC_ALL=C sort)
fi

build_debian() {
  local image="$IMG_DEBIAN"
  local changes=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'CMD ["bash"]'
    --change "LABEL $LABEL_STANDIN=true"
  )
  local hooks=() ca_digest="" f
  for f in "${host_cas[@]}"; do
    hooks+=(--customize-hook="copy-in $f /usr/local/share/ca-certificates/")
    ca_digest+="$(basename "$f") $(sha256sum <"$f" | cut -d' ' -f1);"
  done
  # shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap's hook shell (the chroot path)
  ((${#host_cas[@]} == 0)) || hooks+=(--customize-hook='chroot "$1" update-ca-certificates')
  local mmdebstrap=(mmdebstrap --variant=apt --include=ca-certificates "${hooks[@]}" bookworm -)
  local cmd="${mmdebstrap[*]} | docker import ${changes[*]} - $image"
  local hash
  hash="$(printf '%s\n%s' "$cmd" "$ca_digest" | sha256sum | cut -d' ' -f1)"
  if [[ "$(image_recipe "$image")" == "$hash" ]]; then
    echo "standins: cached $image"
    return 0
  fi
  command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap not found: run test/infra/engine.sh first"
  local log="$log_dir/gmap-debian.log" old_id new_id="" start=$SECONDS
  old_id="$(image_id "$image")"
  # import untagged first: a broken pipe must never leave a tagged, labelled half image behind
  if ! new_id="$(set -o pipefail
    timeout "$build_timeout" "${mmdebstrap[@]}" 2>"$log" |
      timeout "$build_timeout" docker import "${changes[@]}" --change "LABEL $LABEL_RECIPE=$hash" - 2>>"$log")"; then
    show_failure "$log"
    if [[ "$new_id" == sha256:* ]]; then docker image rm "$new_id" >/dev/null 2>&1 || true; fi
    die "building $image failed (mmdebstrap | docker import)"
  fi
  [[ "$new_id" == sha256:* ]] || { show_failure "$log"; die "docker import printed no image id: '$new_id'"; }
  docker tag "$new_id" "$image"
  drop_old "$old_id" "$new_id"
  echo "standins: built $image in $((SECONDS - start))s"
}

# --- 2..6. docker build images ------------------------------------------------------------------
# build_image <image> <recipe dir> <parent image> [KEY=VALUE build args...]
# With EXTRA_CONTEXT set to a directory, its files are added to a copy of the recipe directory as
# the build context (binaries built here); the build args name what they were built from.
build_image() {
  local image="$1" name="$2" dir="$recipes/$2" parent="$3" context="$recipes/$2"
  shift 3
  [[ -f "$dir/Dockerfile" ]] || die "$dir/Dockerfile is missing"
  local parent_id
  parent_id="$(image_id "$parent")"
  [[ -n "$parent_id" ]] || die "parent image $parent of $image is missing"
  local hash
  hash="$(recipe_hash "$dir" "BASE_IMAGE=$parent" "BASE_ID=$parent_id" "$@")"
  if [[ "$(image_recipe "$image")" == "$hash" ]]; then
    echo "standins: cached $image"
    return 0
  fi
  local args=(--build-arg "BASE_IMAGE=$parent") kv
  for kv in "$@"; do args+=(--build-arg "$kv"); done
  local log="$log_dir/$name.log" old_id new_id start=$SECONDS
  old_id="$(image_id "$image")"
  if [[ -n "${EXTRA_CONTEXT:-}" ]]; then
    context="$(mktemp -d "${TMPDIR:-/tmp}/gmap-standin-$name.XXXXXX")"
    cp -a "$dir/." "$context/"
    cp -a "$EXTRA_CONTEXT/." "$context/"
  fi
  if ! run_logged "$log" timeout "$build_timeout" docker build --pull=false --force-rm \
    "${args[@]}" \
    --label "$LABEL_RECIPE=$hash" --label "$LABEL_STANDIN=true" \
    -t "$image" "$context"; then
    [[ "$context" == "$dir" ]] || rm -rf "$context"
    [[ "${STANDINS_VERBOSE:-0}" == "1" ]] || show_failure "$log"
    die "building $image from ${dir#"$repo_root"/} failed (log: $log)"
  fi
  [[ "$context" == "$dir" ]] || rm -rf "$context"
  new_id="$(image_id "$image")"
  [[ "$(image_recipe "$image")" == "$hash" ]] || die "$image was built but does not carry the expected recipe label"
  drop_old "$old_id" "$new_id"
  echo "standins: built $image in $((SECONDS - start))s"
}

build_debian
build_image "$IMG_HUB" jupyterhub "$IMG_DEBIAN" "JUPYTERHUB_VERSION=$JH"
build_image "$IMG_PROXY" configurable-http-proxy "$IMG_DEBIAN" "CHP_VERSION=$CHP"
build_image "$IMG_NB_MINIMAL" notebook "$IMG_DEBIAN" "JUPYTERHUB_VERSION=$JH"
build_image "$IMG_NB_GISPY" notebook-gispy "$IMG_NB_MINIMAL"
build_image "$IMG_FAKE_OAUTH" fake-oauth "$IMG_DEBIAN"
build_image "$IMG_POSTGRES" postgres "$IMG_DEBIAN" "PG_MAJOR=${PG%%.*}"
build_image "$IMG_PROMETHEUS" prometheus "$IMG_DEBIAN" "PROMETHEUS_VERSION=$PROMETHEUS"
build_image "$IMG_HUB_PREVIOUS" jupyterhub "$IMG_DEBIAN" "JUPYTERHUB_VERSION=$JH_PREVIOUS"
build_image "$IMG_HUB_NEXT" jupyterhub "$IMG_DEBIAN" "JUPYTERHUB_VERSION=$JH_NEXT"

# --- 7, 8. Go-built images: Caddy (the front proxy) and Pebble (ACME test server) ---------------
go_bin_cache="${GMAP_GO_BIN_CACHE:-$HOME/.cache/gmap-standins/go-bin}"

# go_install <dir> <module@version> [more packages@version...]: static binaries into <dir>, once
go_install() {
  local dest="$1" tmp log start=$SECONDS
  shift
  [[ -f "$dest/.complete" ]] && return 0
  command -v go >/dev/null 2>&1 || die "go not found: needed to build $* (Go toolchain, https://go.dev/dl)"
  tmp="$dest.tmp.$$"
  log="$log_dir/go-install-$(basename "$dest").log"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if ! CGO_ENABLED=0 GOBIN="$tmp" GOFLAGS="${GOFLAGS:-} -trimpath" run_logged "$log" timeout "$build_timeout" go install "$@"; then
    [[ "${STANDINS_VERBOSE:-0}" == "1" ]] || show_failure "$log"
    rm -rf "$tmp"
    die "go install $* failed (log: $log)"
  fi
  touch "$tmp/.complete"
  rm -rf "$dest" && mv "$tmp" "$dest"
  echo "standins: go install $* in $((SECONDS - start))s"
}

# only when the image is missing or stale: a cached image needs neither Go nor the module cache
needs_build() {
  local image="$1" name="$2" parent="$3"
  shift 3
  [[ "$(image_recipe "$image")" != "$(recipe_hash "$recipes/$name" "BASE_IMAGE=$parent" "BASE_ID=$(image_id "$parent")" "$@")" ]]
}

if needs_build "$IMG_CADDY" caddy "$IMG_DEBIAN" "CADDY_VERSION=$CADDY"; then
  go_install "$go_bin_cache/caddy-$CADDY" "github.com/caddyserver/caddy/v2/cmd/caddy@v$CADDY"
  EXTRA_CONTEXT="$go_bin_cache/caddy-$CADDY" build_image "$IMG_CADDY" caddy "$IMG_DEBIAN" "CADDY_VERSION=$CADDY"
else
  echo "standins: cached $IMG_CADDY"
fi

if needs_build "$IMG_PEBBLE" pebble "$IMG_DEBIAN" "PEBBLE_VERSION=$PEBBLE"; then
  pebble_bin="$go_bin_cache/pebble-$PEBBLE"
  go_install "$pebble_bin" "github.com/letsencrypt/pebble/v2/cmd/pebble@v$PEBBLE" \
    "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@v$PEBBLE"
  # the module's own test certificates (the directory's HTTPS), from the module cache go install filled
  pebble_src="$(go env GOMODCACHE)/github.com/letsencrypt/pebble/v2@v$PEBBLE"
  [[ -f "$pebble_src/test/certs/pebble.minica.pem" ]] || die "no $pebble_src/test/certs after go install"
  if [[ ! -f "$pebble_bin/certs/pebble.minica.pem" ]]; then
    mkdir -p "$pebble_bin/certs"
    cp -r "$pebble_src/test/certs/." "$pebble_bin/certs/"
    chmod -R u+w "$pebble_bin/certs"
  fi
  EXTRA_CONTEXT="$pebble_bin" build_image "$IMG_PEBBLE" pebble "$IMG_DEBIAN" "PEBBLE_VERSION=$PEBBLE"
else
  echo "standins: cached $IMG_PEBBLE"
fi
