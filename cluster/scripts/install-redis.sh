#!/usr/bin/env bash
# Installs `redis-server`, which tally's cluster tests start themselves (cluster/src/testkit) on
# free loopback ports, from Debian's packages. Idempotent: does nothing when it is there already.
# Never leaves a server running: the tests need only the binary, not the service Debian's
# package would start on the standard port.
#
# Usage (as root, or through sudo): cluster/scripts/install-redis.sh
set -euo pipefail

if command -v redis-server >/dev/null; then
    echo "redis-server found at $(command -v redis-server)"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    exec sudo --non-interactive "$0" "$@"
fi

if ! command -v apt-get >/dev/null; then
    echo "install-redis.sh: no apt-get here; install redis-server and put it on PATH" >&2
    exit 1
fi

# Keep Debian's maintainer scripts from starting the service: invoke-rc.d asks policy-rc.d, and
# exit code 101 means "action not allowed". Restored on exit.
policy=/usr/sbin/policy-rc.d
saved_policy=""
if [[ -e $policy ]]; then
    saved_policy=$(mktemp)
    cp -p "$policy" "$saved_policy"
fi
restore_policy() {
    if [[ -n $saved_policy ]]; then
        mv -f "$saved_policy" "$policy"
    else
        rm -f "$policy"
    fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends redis-server

command -v redis-server
