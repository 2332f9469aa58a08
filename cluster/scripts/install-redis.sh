#!/usr/bin/env bash
# Installs `redis-server`, which tally's cluster tests start themselves (cluster/src/testkit) on
# free loopback ports, from Debian's packages. Idempotent: does nothing when it is there already.
# Leaves no server running: the tests need only the binary, not the service Debian's package
# starts on the standard port.
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

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends redis-server

# Debian's package may have started its service on the standard port: stop it and keep it from
# starting at boot. The tests start their own servers on free ports and never use it.
if command -v service >/dev/null; then
    service redis-server stop >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null; then
    update-rc.d redis-server disable >/dev/null 2>&1 || true
fi

command -v redis-server
