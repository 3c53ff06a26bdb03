# Source this (`. test/infra/pulumi-env.sh`) to have the Pulumi CLI on PATH for the tests.
#
# - A `pulumi` already on PATH (a normal install, https://www.pulumi.com/docs/install/) is used as is.
# - Otherwise the CLI and its plugins are built from source with Go by the shared offline toolchain
#   (PULUMI_TOOLCHAIN_SRC, else ../shared/pulumi-toolchain beside the project; 10-15 min cold,
#   seconds when cached).
#   That build lacks the small launcher of Node.js dynamic providers that Pulumi's releases ship
#   next to the `pulumi` binary (pulumi-resource-pulumi-nodejs); it is added here.
# - The project's Node.js (>= 22, node_modules/.bin) goes first on PATH: pulumi runs the program with it.
_gmap_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! command -v pulumi >/dev/null 2>&1; then
  for _gmap_src in ${PULUMI_TOOLCHAIN_SRC:-} "$_gmap_root/../shared/pulumi-toolchain"; do
    [ -f "$_gmap_src/build.sh" ] && break
  done
  if [ ! -f "$_gmap_src/build.sh" ]; then
    echo "pulumi-env: no pulumi on PATH and no toolchain sources (PULUMI_TOOLCHAIN_SRC, ../shared/pulumi-toolchain): install the Pulumi CLI" >&2
    return 1
  fi
  bash "$_gmap_src/build.sh" >&2 || return 1
  . "$_gmap_src/env.sh"
fi
_gmap_bin=$(dirname "$(command -v pulumi)")
if [ ! -x "$_gmap_bin/pulumi-resource-pulumi-nodejs" ]; then
  printf '%s\n' '#!/bin/sh' '# Serves the dynamic providers of a Node.js Pulumi program (run in the project directory).' \
    'exec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider "$@"' > "$_gmap_bin/pulumi-resource-pulumi-nodejs"
  chmod 0755 "$_gmap_bin/pulumi-resource-pulumi-nodejs"
fi
export PATH="$_gmap_root/node_modules/.bin:$PATH"
export PULUMI_SKIP_UPDATE_CHECK=1
unset _gmap_root _gmap_src _gmap_bin
