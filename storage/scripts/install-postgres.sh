#!/usr/bin/env bash
# Installs the PostgreSQL server binaries (initdb, postgres) that tally's storage tests start
# themselves (storage/src/testkit), from Debian's packages. Idempotent: does nothing when they
# are there already. Never leaves a server running: the tests need only the binaries, and they
# must not depend on the cluster that Debian's package creates and starts.
#
# Usage (as root, or through sudo): storage/scripts/install-postgres.sh
# Environment: TALLY_PG_PACKAGE (default: postgresql, Debian's supported major version).
set -euo pipefail

have_server() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/postgres" ]]; then
            echo "PostgreSQL server binaries found in $dir"
            return 0
        fi
    done
    return 1
}

if have_server; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    exec sudo --non-interactive "$0" "$@"
fi

if ! command -v apt-get >/dev/null; then
    echo "install-postgres.sh: no apt-get here; install PostgreSQL's server binaries and set" \
        "TALLY_PG_BINDIR to their directory" >&2
    exit 1
fi

package="${TALLY_PG_PACKAGE:-postgresql}"

# Keep Debian's maintainer scripts from starting the cluster they create: invoke-rc.d asks
# policy-rc.d, and exit code 101 means "action not allowed". Restored on exit.
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
apt-get install -y -q --no-install-recommends "$package"

# Whatever the package did, stop any cluster it created and keep it from starting at boot:
# tally's tests start their own servers on free ports and never use it.
if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters --no-header 2>/dev/null | while read -r version cluster _; do
        pg_ctlcluster --force "$version" "$cluster" stop 2>/dev/null || true
        conf="/etc/postgresql/$version/$cluster/start.conf"
        if [[ -f $conf ]]; then
            echo manual >"$conf"
        fi
    done
fi

have_server
