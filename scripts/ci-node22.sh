#!/usr/bin/env bash
# CI's Node 22 pass, run by .ci/run after the full suite on Node 20: the same checkout, installed once
# by Node 20's `npm ci`, runs a representative subset of the tests again on Node 22.
#
# Node 22 comes from the npm registry (node-linux-<arch>: the official binary as an npm tarball), so
# CI needs no host but the registry, and is kept in a cache outside the repository.
# node_modules needs no second install: an `npm ci` run by Node 22 lays down the very same files
# except one, better-sqlite3's addon, which is built against V8's own ABI (NODE_MODULE_VERSION 115 on
# Node 20, 127 on 22). sharp (Node-API), esbuild (an executable), the Baileys patches and the
# generated Prisma clients are identical. So the pass runs in a copy of the checkout whose
# node_modules is hard-linked to this one, with better-sqlite3 copied and rebuilt for Node 22 there
# (the addon is cached too, by better-sqlite3's version and the ABI): Node 20's tree is never touched.
#
#   scripts/ci-node22.sh                  the subset below
#   scripts/ci-node22.sh <test files>     those instead (paths as tests/run.ts takes them)
# WSGO_CI_CACHE sets the cache directory (default ~/.cache/wsgo-ci).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Exact, so every run tests the same Node; raise it deliberately.
version=22.23.5
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "ci-node22: no Node 22 package for $(uname -m)" >&2; exit 1 ;;
esac
cache=${WSGO_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wsgo-ci}
node_dir=$cache/node-v$version-linux-$arch
mkdir -p "$cache"

if [ ! -x "$node_dir/bin/node" ]; then
  echo "ci-node22: fetching node-linux-$arch@$version from the npm registry"
  fetch=$(mktemp -d "$cache/fetch.XXXXXX")
  # npm pack checks the tarball against the registry's integrity hash.
  (cd "$fetch" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  tar -xzf "$fetch"/node-linux-"$arch"-"$version".tgz -C "$fetch"
  rm -rf "$node_dir"
  mv "$fetch/package" "$node_dir"
  rm -rf "$fetch"
fi
export PATH="$node_dir/bin:$PATH"
[ "$(node --version)" = "v$version" ] || { echo "ci-node22: $node_dir/bin/node is not v$version" >&2; exit 1; }

# The copy: the checkout without what runs leave behind, and node_modules as hard links (a plain copy
# when the temporary directory is on another file system).
work=$(mktemp -d "${TMPDIR:-/tmp}/wsgo-node22.XXXXXX")
trap 'rm -rf "$work"' EXIT
copy=$work/wsgo
mkdir "$copy"
tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./data --exclude=./tests/.artifacts \
  --exclude='./tests/.scratch*' --exclude=./bench/out -cf - . | tar -C "$copy" -xf -
cp -al "$root/node_modules" "$copy/node_modules" 2>/dev/null || {
  rm -rf "$copy/node_modules"
  cp -a "$root/node_modules" "$copy/node_modules"
}
rm -rf "$copy/node_modules/better-sqlite3"
cp -a "$root/node_modules/better-sqlite3" "$copy/node_modules/better-sqlite3"

abi=$(node -p process.versions.modules)
sqlite_version=$(node -p "require('$copy/node_modules/better-sqlite3/package.json').version")
addon=build/Release/better_sqlite3.node
cached_addon=$cache/better-sqlite3-$sqlite_version-abi$abi-linux-$arch.node
bsq=$copy/node_modules/better-sqlite3
if [ -f "$cached_addon" ]; then
  cp "$cached_addon" "$bsq/$addon"
else
  echo "ci-node22: building better-sqlite3 $sqlite_version's addon for Node $version (ABI $abi)"
  # Node 22's headers are in its package: nodedir points node-gyp there (a user's npmrc may name
  # Node 20's), so no header download either.
  if [ -f "$bsq/build/Release/obj.target/deps/sqlite3.a" ]; then
    # Node 20's install compiled SQLite from source into sqlite3.a: plain C that includes no Node
    # header, byte for byte what Node 22 compiles, and most of the build's time. Keep it (make -o)
    # and compile and link only the addon against Node 22's headers: seconds instead of minutes.
    gyp=$(npm exec -c 'printf %s "$npm_config_node_gyp"')
    (export npm_config_nodedir="$node_dir" && cd "$bsq" && node "$gyp" configure --release >"$work/build.log" 2>&1 &&
      make -s -C build BUILDTYPE=Release -j2 -o Release/obj.target/deps/sqlite3.a better_sqlite3 >>"$work/build.log" 2>&1) ||
      { cat "$work/build.log" >&2; exit 1; }
  else
    # A prebuilt binary was installed (no build to reuse): the package's own install script.
    (export npm_config_nodedir="$node_dir" && cd "$copy" && JOBS=max npm rebuild better-sqlite3 --no-audit --no-fund >"$work/build.log" 2>&1) ||
      { cat "$work/build.log" >&2; exit 1; }
  fi
  cp "$bsq/$addon" "$cached_addon.tmp"
  mv "$cached_addon.tmp" "$cached_addon"
fi
(cd "$copy" && node -e "new (require('better-sqlite3'))(':memory:').close()") || {
  echo "ci-node22: better-sqlite3 does not load on Node $version" >&2
  exit 1
}

# The subset: the production build started as `npm start` runs it (serving /health), the wsgo REST
# contract against the WhatsApp stand-in, the store on SQLite and PostgreSQL, and a PostgreSQL
# database of an earlier release upgraded in place. tests/run.ts starts one PostgreSQL for them all.
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=(tests/build.test.ts tests/api.test.ts tests/store.test.ts tests/upgrade.test.ts)
fi
# A file renamed away must fail the pass, not shrink it unnoticed.
for file in "${files[@]}"; do
  [ -f "$copy/$file" ] || { echo "ci-node22: there is no $file" >&2; exit 1; }
done
echo "ci-node22: Node $version ready in ${SECONDS}s; testing ${files[*]}"
cd "$copy"
status=0
node --import tsx tests/run.ts "${files[@]}" || status=$?
echo "ci-node22: ${SECONDS}s in all"
exit $status
