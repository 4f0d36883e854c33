#!/usr/bin/env bash
# Installs one of the npm packages the tests use (tests/reference/NAME: package.json and a
# package-lock.json pinning versions and checksums) into a cache outside git, once per lock file:
#   tfjs     TensorFlow.js, the reference of the pose import fidelity test
#   browser  playwright-core, which drives Debian's chromium in the web timeline test (no browser download)
# The daemon never uses them.
#   scripts/fetch-npm-reference.sh NAME     # prints the directory (with node_modules/)
# Exit 1 with a message naming the cause when npm cannot install it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NAME="${1:?usage: fetch-npm-reference.sh tfjs|browser}"
SRC="$ROOT/tests/reference/$NAME"
[ -f "$SRC/package-lock.json" ] || { echo "fetch-npm-reference: no $SRC/package-lock.json" >&2; exit 1; }
DEST="${ACTIOND_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/actiond}/$NAME-reference"
want="$(sha256sum "$SRC/package-lock.json" | cut -d' ' -f1)"
if [ -f "$DEST/.installed" ] && [ "$(cat "$DEST/.installed")" = "$want" ]; then
  echo "$DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-npm-reference: npm is not installed: Node 20 and npm are needed" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
if ! (cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error > npm.log 2>&1); then
  echo "fetch-npm-reference: npm ci failed in $DEST: $(tail -n 3 "$DEST/npm.log" | tr "\n" " ")" >&2
  exit 1
fi
echo "$want" > "$DEST/.installed"
echo "fetch-npm-reference: $NAME installed in $DEST" >&2
echo "$DEST"
