#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests, unless it is already there (never a downloaded browser).
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "chromium: /usr/bin/chromium is missing; run 'sudo apt-get install chromium' (browser tests will be skipped)" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "chromium: installed $(/usr/bin/chromium --version | head -n1)"
