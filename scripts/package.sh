#!/usr/bin/env bash
# Builds the Debian packages (CPack DEB, systemd/debian/package.cmake) and checks them with lintian.
#   scripts/package.sh                    # build/, revision 1, packages into build/packages/
#   scripts/package.sh --release 2        # the Debian revision (version = project(VERSION)-REVISION)
#   scripts/package.sh --out DIR          # where the .deb files go
#   scripts/package.sh --no-lintian
#   scripts/package.sh --without-pose     # only actiond, when the pose models cannot be fetched
# Prints the path of each package made. Exits non-zero when the build fails or lintian reports an
# error. The build directory is the one scripts/test.sh uses (BUILD_DIR moves it), configured for
# prefix /usr with the unit in /lib/systemd/system (Debian 12).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

RELEASE=1
OUT=""
LINTIAN=1
POSE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --release) RELEASE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --no-lintian) LINTIAN=0; shift ;;
    --without-pose) POSE=0; shift ;;
    *) echo "package.sh: unknown argument '$1' (--release N, --out DIR, --no-lintian, --without-pose)" >&2; exit 2 ;;
  esac
done
case "$RELEASE" in
  ''|*[!0-9A-Za-z.+~]*) echo "package.sh: --release '$RELEASE' is not a Debian revision (digits, letters, . + ~)" >&2; exit 2 ;;
esac

BUILD_DIR="${BUILD_DIR:-build}"
OUT="${OUT:-$BUILD_DIR/packages}"
actiond_build "$BUILD_DIR" -DCMAKE_INSTALL_PREFIX=/usr -DACTIOND_SYSTEMD_UNIT_DIR=/lib/systemd/system \
  -DACTIOND_DEB_RELEASE="$RELEASE"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT"/*.deb
# CPack's own staging goes under the build directory; the packages go to OUT.
(cd "$BUILD_DIR" && cpack -G DEB -B "$OUT/.cpack" >"$OUT/cpack.log" 2>&1) || {
  cat "$OUT/cpack.log" >&2
  echo "package.sh: cpack failed (log above, also in $OUT/cpack.log)" >&2
  exit 1
}
mv "$OUT"/.cpack/*.deb "$OUT"/
rm -rf "$OUT/.cpack"

debs=("$OUT"/*.deb)
# actiond-pose-models exists only when the build imported the npm package: never silently missing.
if [ "$POSE" = 1 ] && ! ls "$OUT"/actiond-pose-models_*.deb >/dev/null 2>&1; then
  echo "package.sh: actiond-pose-models was not made: the build has no imported pose models (run" \
       "scripts/fetch-pretrained.sh, then this again), or pass --without-pose" >&2
  exit 1
fi
if [ "$LINTIAN" = 1 ]; then
  # Errors fail the build; warnings are printed for the operator to read.
  if ! lintian --fail-on error --tag-display-limit 0 "${debs[@]}" >"$OUT/lintian.log" 2>&1; then
    cat "$OUT/lintian.log" >&2
    echo "package.sh: lintian reports errors (above, also in $OUT/lintian.log)" >&2
    exit 1
  fi
  grep -E '^[EWI]:' "$OUT/lintian.log" >&2 || true
fi
printf '%s\n' "${debs[@]}"
