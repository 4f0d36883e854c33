#!/usr/bin/env bash
# Installs TensorFlow.js (pinned by tests/reference/tfjs/package-lock.json: tfjs-core, -converter,
# -backend-cpu 4.22.0 with their checksums) into a cache outside git. It is the reference the pose
# import fidelity test compares against; the daemon never uses it. Installed once per lock file.
#   scripts/fetch-tfjs-reference.sh     # prints the directory (ACTIOND_TFJS_DIR for run_graph_model.mjs)
# Exit 1 with a message naming the cause when npm cannot install it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$ROOT/tests/reference/tfjs"
DEST="${ACTIOND_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/actiond}/tfjs-reference"
want="$(sha256sum "$SRC/package-lock.json" | cut -d' ' -f1)"
if [ -f "$DEST/.installed" ] && [ "$(cat "$DEST/.installed")" = "$want" ]; then
  echo "$DEST"
  exit 0
fi
command -v npm >/dev/null || { echo "fetch-tfjs-reference: npm is not installed: Node 20 and npm are needed" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
cp "$SRC/package.json" "$SRC/package-lock.json" "$DEST/"
if ! (cd "$DEST" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error > npm.log 2>&1); then
  echo "fetch-tfjs-reference: npm ci failed in $DEST: $(tail -n 3 "$DEST/npm.log" | tr "\n" " ")" >&2
  exit 1
fi
echo "$want" > "$DEST/.installed"
echo "fetch-tfjs-reference: TensorFlow.js reference installed in $DEST" >&2
echo "$DEST"
