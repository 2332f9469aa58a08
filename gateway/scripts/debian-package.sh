#!/usr/bin/env bash
# Shared by the install scripts (sourced, not run): installs a Debian package when the binary a
# test needs is missing, and stops and disables the service the package may start, so that
# nothing runs on a standard port: tally's tests start their own servers on free loopback ports.
#
# Usage, from a script run as root or through sudo:
#   source gateway/scripts/debian-package.sh
#   install_debian_package BINARY PACKAGE [SERVICE]

# Installs PACKAGE unless BINARY is on PATH; stops SERVICE (default: PACKAGE) afterwards.
install_debian_package() {
    local binary=$1 package=$2 service=${3:-$2}
    if command -v "$binary" >/dev/null; then
        echo "$binary found at $(command -v "$binary")"
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        echo "no apt-get here; install $binary (Debian package $package) and put it on PATH" >&2
        return 1
    fi
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo --non-interactive)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "$package"
    # Debian's package may have started its service: stop it and keep it from starting at boot.
    if command -v service >/dev/null; then
        "${sudo[@]}" service "$service" stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null; then
        "${sudo[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
    command -v "$binary"
}
