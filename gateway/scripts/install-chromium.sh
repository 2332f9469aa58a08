#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the wall display browser test
# (gateway/tests/display_page.rs) when it is missing. Idempotent and non-interactive; needs root
# (or sudo) and a reachable Debian mirror. The test drives the browser over the DevTools protocol
# (chromiumoxide), so no chromedriver is needed.
set -euo pipefail

packages=(chromium fonts-dejavu-core)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ] && [ -x /usr/bin/chromium ]; then
    echo "install-chromium: already installed: $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: installing ${missing[*]:-chromium}"
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]:-chromium}"
/usr/bin/chromium --version
