#!/usr/bin/env bash
# libFuzzer runs (not part of the test suite; docs/RELIABILITY.md). Builds each harness of tests/fuzz/
# with clang (-fsanitize=fuzzer,address,undefined) into build-fuzz/ and runs it for FUZZ_SECONDS
# (default 600) on a copy of its seed corpus (tests/fuzz/corpus/NAME). A crash leaves its input in
# build-fuzz/crashes/NAME/ and fails the script; copy it into tests/fuzz/corpus/NAME/, where ctest
# (fuzz.NAME_corpus) replays it in every run, and fix the bug.
#   scripts/fuzz.sh                    # every harness, 10 minutes each
#   FUZZ_SECONDS=60 scripts/fuzz.sh config     # harnesses: config, control, journal, npy
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"
"$ACTIOND_ROOT/scripts/install-deps.sh"
if ! command -v clang++ >/dev/null; then
  echo "fuzz: installing clang (libFuzzer)" >&2
  $( [ "$(id -u)" = 0 ] || echo sudo ) apt-get install -y --no-install-recommends clang >&2
fi
OUT=build-fuzz
mkdir -p "$OUT"
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
# build NAME SOURCES...: tests/fuzz/NAME_fuzzer.cpp with the project sources it exercises.
build() {
  local name=$1
  shift
  clang++ "${FLAGS[@]}" -Iconfig/include -Idaemon/include -Idaemon/journal/include -Ipipeline/include $(pkg-config --cflags spdlog) \
    "tests/fuzz/${name}_fuzzer.cpp" "$@" config/src/log.cpp $(pkg-config --libs spdlog) -o "$OUT/${name}_fuzzer"
}
build_config() { build config config/src/config.cpp config/src/json_reader.cpp; }
build_control() { build control daemon/src/io/control_protocol.cpp daemon/journal/journal.cpp; }
build_journal() { build journal daemon/journal/journal.cpp; }
build_npy() { build npy pipeline/src/files/npy_file.cpp; }
for name in ${*:-config control journal npy}; do
  "build_$name"
  mkdir -p "$OUT/corpus/$name" "$OUT/crashes/$name"
  cp -n tests/fuzz/corpus/"$name"/* "$OUT/corpus/$name/"
  echo "fuzz: $name for ${FUZZ_SECONDS:-600} s" >&2
  "$OUT/${name}_fuzzer" -max_total_time="${FUZZ_SECONDS:-600}" -print_final_stats=1 \
    -artifact_prefix="$OUT/crashes/$name/" "$OUT/corpus/$name" 2>&1 | tee "$OUT/$name.log" | grep -E "^(Done|stat::|==[0-9]+==ERROR)" || true
  if ls "$OUT/crashes/$name"/* >/dev/null 2>&1; then echo "fuzz: $name found crashes in $OUT/crashes/$name" >&2; exit 1; fi
done
