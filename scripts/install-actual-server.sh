#!/usr/bin/env bash
# Install the Actual sync server (and the Node 22 it needs) into a cache folder.
#
#   scripts/install-actual-server.sh [CACHE_DIR]      (default: ~/.cache/budget-assist/actual-server)
#
# Idempotent: a marker file records a complete install, so a rerun returns at once.
# Only the npm registry is used: Node 22 comes from the npm package `node@22`, and the
# server's native module (better-sqlite3) is compiled against that Node's headers.
# Layout:
#   CACHE_DIR/node22/     npm prefix holding node@22; the binary path is in CACHE_DIR/NODE_BIN
#   CACHE_DIR/server/     npm prefix holding @actual-app/sync-server
#   CACHE_DIR/.installed  marker (server version + node version)
#   CACHE_DIR/server-V/   an older @actual-app/sync-server V with its own .installed marker, for each V
#                         in ACTUAL_OLDER_SERVER_VERSIONS (default 25.6.0: the oldest version tested)
set -euo pipefail

SERVER_VERSION="${ACTUAL_SERVER_VERSION:-26.9.0}"
OLDER_SERVER_VERSIONS="${ACTUAL_OLDER_SERVER_VERSIONS-25.6.0}"
NODE_SPEC="${ACTUAL_NODE_SPEC:-node@22}"
REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${1:-${ACTUAL_CACHE:-$HOME/.cache/budget-assist/actual-server}}"
mkdir -p "$CACHE_DIR"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd)"
MARKER="$CACHE_DIR/.installed"
WANT="sync-server=$SERVER_VERSION node=$NODE_SPEC"

older_missing() {  # the older versions whose prefix has no complete install
  local version
  for version in $OLDER_SERVER_VERSIONS; do
    [[ "$(head -n1 "$CACHE_DIR/server-$version/.installed" 2>/dev/null)" == "sync-server=$version" ]] || echo "$version"
  done
}

install_older() {  # install_older VERSION: into CACHE_DIR/server-VERSION with the cached Node 22
  local version="$1" prefix="$CACHE_DIR/server-$1" node_bin node_home
  node_bin="$(cat "$CACHE_DIR/NODE_BIN")"
  node_home="$(dirname "$(dirname "$node_bin")")"
  exec {lock_fd}>"$CACHE_DIR/.server-$version.lock"
  flock "$lock_fd"  # a second run (another test session) waits here, then finds the install complete
  if [[ "$(head -n1 "$prefix/.installed" 2>/dev/null)" == "sync-server=$version" ]]; then
    exec {lock_fd}>&-
    return 0
  fi
  mkdir -p "$prefix"
  if ! PATH="$(dirname "$node_bin"):$PATH" npm_config_nodedir="$node_home" npm_config_build_from_source=true \
       npm install --prefix "$prefix" --no-audit --no-fund "@actual-app/sync-server@$version" \
       >>"$prefix/install.log" 2>&1; then
    echo "actual-server: installing @actual-app/sync-server@$version failed, see $prefix/install.log" >&2
    exit 1
  fi
  if ! (cd "$prefix" && "$node_bin" -e "new (require('better-sqlite3'))(':memory:').close()") >>"$prefix/install.log" 2>&1; then
    echo "actual-server: better-sqlite3 of $version does not load under $node_bin, see $prefix/install.log" >&2
    exit 1
  fi
  { echo "sync-server=$version"; echo "installed_at=$(date -u +%FT%TZ)"; } >"$prefix/.installed"
  exec {lock_fd}>&-
  echo "actual-server: installed @actual-app/sync-server@$version in $prefix"
}

if [[ -f "$MARKER" ]] && [[ "$(head -n1 "$MARKER")" == "$WANT" ]] \
   && [[ -x "$(cat "$CACHE_DIR/NODE_BIN" 2>/dev/null)" ]]; then
  for version in $(older_missing); do install_older "$version"; done
  echo "actual-server: already installed in $CACHE_DIR ($WANT${OLDER_SERVER_VERSIONS:+, older: $OLDER_SERVER_VERSIONS})"
  exit 0
fi

start=$(date +%s)
rm -f "$MARKER"
LOG="$CACHE_DIR/install.log"
: >"$LOG"

# 1. Node 22 from the npm registry (kept when already complete: a second `npm install` of node@22
#    prunes the platform package its install script added, headers included).
NODE_BIN="$(cat "$CACHE_DIR/NODE_BIN" 2>/dev/null || true)"
if [[ -x "$NODE_BIN" ]] && "$NODE_BIN" --version 2>/dev/null | grep -q '^v22\.' \
   && [[ -f "$(dirname "$(dirname "$NODE_BIN")")/include/node/node.h" ]]; then
  echo "reusing $NODE_BIN" >>"$LOG"
else
  NODE_BIN=""
  rm -rf "$CACHE_DIR/node22"
  mkdir -p "$CACHE_DIR/node22"
  if ! npm install --prefix "$CACHE_DIR/node22" --no-audit --no-fund "$NODE_SPEC" >>"$LOG" 2>&1; then
    echo "actual-server: installing $NODE_SPEC failed, see $LOG" >&2
    exit 1
  fi
  for candidate in "$CACHE_DIR"/node22/node_modules/node/node_modules/node-*/bin/node \
                   "$CACHE_DIR"/node22/node_modules/node-*/bin/node \
                   "$CACHE_DIR"/node22/node_modules/node/bin/node; do
    if [[ -x "$candidate" ]] && "$candidate" --version 2>/dev/null | grep -q '^v22\.'; then
      NODE_BIN="$(readlink -f "$candidate")"
      break
    fi
  done
fi
if [[ -z "$NODE_BIN" ]]; then
  echo "actual-server: no Node 22 binary found under $CACHE_DIR/node22" >&2
  exit 1
fi
NODE_HOME="$(dirname "$(dirname "$NODE_BIN")")"   # holds bin/ and include/node/
if [[ ! -f "$NODE_HOME/include/node/node.h" ]]; then
  echo "actual-server: Node headers missing in $NODE_HOME/include/node" >&2
  exit 1
fi
echo "$NODE_BIN" >"$CACHE_DIR/NODE_BIN"

# 2. The sync server, native modules built with that Node and its headers.
mkdir -p "$CACHE_DIR/server"
if ! PATH="$(dirname "$NODE_BIN"):$PATH" \
     npm_config_nodedir="$NODE_HOME" \
     npm_config_build_from_source=true \
     npm install --prefix "$CACHE_DIR/server" --no-audit --no-fund \
       "@actual-app/sync-server@$SERVER_VERSION" >>"$LOG" 2>&1; then
  echo "actual-server: installing @actual-app/sync-server@$SERVER_VERSION failed, see $LOG" >&2
  exit 1
fi
SERVER_JS="$CACHE_DIR/server/node_modules/@actual-app/sync-server/build/app.js"
if [[ ! -f "$SERVER_JS" ]]; then
  SERVER_JS="$CACHE_DIR/server/node_modules/@actual-app/sync-server/build/bin/actual-server.js"
fi
# Prove the native module loads under Node 22.
if ! (cd "$CACHE_DIR/server" && "$NODE_BIN" -e "new (require('better-sqlite3'))(':memory:').close()") >>"$LOG" 2>&1; then
  echo "actual-server: better-sqlite3 does not load under $NODE_BIN, see $LOG" >&2
  exit 1
fi

{ echo "$WANT"; echo "node_bin=$NODE_BIN"; echo "installed_at=$(date -u +%FT%TZ)"; } >"$MARKER"
echo "actual-server: installed @actual-app/sync-server@$SERVER_VERSION with $("$NODE_BIN" --version) in $CACHE_DIR in $(( $(date +%s) - start ))s"
for version in $(older_missing); do install_older "$version"; done
