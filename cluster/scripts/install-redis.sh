#!/usr/bin/env bash
# Installs `redis-server`, which tally's cluster tests start themselves (cluster/src/testkit) on
# free loopback ports, from Debian's packages. Idempotent: does nothing when it is there already.
# Leaves no server running: the tests need only the binary, not the service Debian's package
# starts on the standard port.
#
# Usage (as root, or through sudo): cluster/scripts/install-redis.sh
set -euo pipefail
source "$(dirname "$0")/../../gateway/scripts/debian-package.sh"
install_debian_package redis-server redis-server
