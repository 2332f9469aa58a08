#!/usr/bin/env bash
# Installs `promtool` (Debian's `prometheus` package), which the metrics conformance test runs on a
# live node's /metrics. Idempotent: does nothing when promtool is there already. Leaves no server
# running: the tests need only promtool, not the service Debian's package starts on port 9090.
#
# Usage (as root, or through sudo): gateway/scripts/install-prometheus.sh
set -euo pipefail

if command -v promtool >/dev/null; then
    echo "promtool found at $(command -v promtool)"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    exec sudo --non-interactive "$0" "$@"
fi

if ! command -v apt-get >/dev/null; then
    echo "install-prometheus.sh: no apt-get here; install promtool and put it on PATH" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends prometheus

# Debian's package may have started its service: stop it and keep it from starting at boot.
if command -v service >/dev/null; then
    service prometheus stop >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null; then
    update-rc.d prometheus disable >/dev/null 2>&1 || true
fi

command -v promtool
