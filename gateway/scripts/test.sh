#!/usr/bin/env bash
# The test command of the README and of CI: installs what the tests need from Debian's packages
# when it is missing (each install script does nothing when its part is there), then runs every
# test of the workspace. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/../.."

for install in storage/scripts/install-postgres.sh storage/scripts/fetch-cassandra.sh \
    cluster/scripts/install-redis.sh \
    gateway/scripts/install-chromium.sh gateway/scripts/install-prometheus.sh; do
    if [ -f "$install" ]; then
        bash "$install"
    fi
done

cargo test --workspace "$@"
