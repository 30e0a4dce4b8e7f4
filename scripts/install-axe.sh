#!/usr/bin/env bash
# Install axe-core (the accessibility rules the browser tests run) from npm into a cache folder.
#
#   scripts/install-axe.sh [CACHE_DIR]      (default: ~/.cache/budget-assist/axe)
#
# Idempotent: when CACHE_DIR already holds the wanted version's axe.min.js, it returns at once.
# The browser tests read CACHE_DIR/node_modules/axe-core/axe.min.js (AXE_CACHE points them elsewhere).
set -euo pipefail

AXE_VERSION="${AXE_VERSION:-4.14.1}"
CACHE_DIR="${1:-${AXE_CACHE:-$HOME/.cache/budget-assist/axe}}"
mkdir -p "$CACHE_DIR"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd)"
AXE_JS="$CACHE_DIR/node_modules/axe-core/axe.min.js"
MARKER="$CACHE_DIR/.installed"

if [[ -f "$AXE_JS" && -f "$MARKER" && "$(cat "$MARKER")" == "axe-core@$AXE_VERSION" ]]; then
  echo "axe-core: already installed in $CACHE_DIR (axe-core@$AXE_VERSION)"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "axe-core: npm is missing; the browser tests need axe-core ('apt-get install npm')" >&2
  exit 1
fi
rm -f "$MARKER"
LOG="$CACHE_DIR/install.log"
if ! npm install --prefix "$CACHE_DIR" --no-audit --no-fund --no-save "axe-core@$AXE_VERSION" >"$LOG" 2>&1; then
  echo "axe-core: installing axe-core@$AXE_VERSION failed, see $LOG" >&2
  exit 1
fi
if [[ ! -s "$AXE_JS" ]]; then
  echo "axe-core: $AXE_JS is missing after the install, see $LOG" >&2
  exit 1
fi
echo "axe-core@$AXE_VERSION" >"$MARKER"
echo "axe-core: installed axe-core@$AXE_VERSION in $CACHE_DIR"
