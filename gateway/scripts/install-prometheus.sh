#!/usr/bin/env bash
# Installs `promtool` (Debian's `prometheus` package), which the metrics conformance test runs on a
# live node's /metrics. Idempotent: does nothing when promtool is there already. Leaves no server
# running: the tests need only promtool, not the service Debian's package starts on port 9090.
#
# Usage (as root, or through sudo): gateway/scripts/install-prometheus.sh
set -euo pipefail
source "$(dirname "$0")/debian-package.sh"
install_debian_package promtool prometheus
