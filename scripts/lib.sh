# Shared by the scripts: install what is missing, configure, build; the training package on PYTHONPATH.
# Usage: source scripts/lib.sh; actiond_build BUILD_DIR [extra cmake args...]

ACTIOND_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The training package (models/train/actiond_train): `python3 -m actiond_train.NAME` from the source
# tree (the .deb installs it into /usr/share/actiond/python).
export PYTHONPATH="$ACTIOND_ROOT/models/train${PYTHONPATH:+:$PYTHONPATH}"

actiond_build() {
  local build_dir="$1"
  shift
  "$ACTIOND_ROOT/scripts/install-deps.sh"
  local generator=()
  if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$ACTIOND_ROOT" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
  else
    cmake -S "$ACTIOND_ROOT" -B "$build_dir" "$@" >/dev/null
  fi
  cmake --build "$build_dir" -j "$(nproc)"
}
