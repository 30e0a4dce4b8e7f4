#!/usr/bin/env bash
# Debian packages the tests and the benchmark use: Chromium for the browser tests (never a downloaded
# browser) and wrk as the benchmark's load generator. Installs only what is missing.
set -euo pipefail
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "test packages: already installed ($(/usr/bin/chromium --version 2>/dev/null | head -n1), wrk)"
  exit 0
fi
if [[ "$(id -u)" != "0" ]]; then
  echo "test packages: missing ${missing[*]}; run 'sudo apt-get install ${missing[*]}'" \
       "(browser tests are skipped without chromium; the benchmark uses a Python load generator without wrk)" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
echo "test packages: installed ${missing[*]}"
