#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest). Non-zero on any failure.
#   scripts/test.sh                       # build/ , every test
#   scripts/test.sh --quick               # unit, golden and in-process integration tests (~3 min built):
#                                         # the edit-compile-test loop; CI runs everything
#   scripts/test.sh --sanitize address    # build-address/ with ASan+UBSan
#   scripts/test.sh --sanitize thread     # build-thread/ with TSan
#   scripts/test.sh -L unit               # extra arguments go to ctest
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

SANITIZE=""
CTEST_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) CTEST_ARGS+=(-j2 -L 'unit|golden|integration' -LE 'process|package|models|tools'); shift ;;
    --sanitize) SANITIZE="$2"; shift 2 ;;
    --sanitize=*) SANITIZE="${1#*=}"; shift ;;
    *) CTEST_ARGS+=("$1"); shift ;;
  esac
done

BUILD_DIR="${BUILD_DIR:-build${SANITIZE:+-$SANITIZE}}"
actiond_build "$BUILD_DIR" -DACTIOND_BUILD_TESTS=ON -DACTIOND_WERROR=ON -DACTIOND_SANITIZE="$SANITIZE"

export ACTIOND_SHARED_DIR="${ACTIOND_SHARED_DIR:-$ACTIOND_ROOT/../shared}"
if [ -n "$SANITIZE" ]; then
  export LSAN_OPTIONS="suppressions=$ACTIOND_ROOT/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  # GLib's slice allocator recycles memory between threads behind the sanitizers' back; plain
  # malloc lets them see every allocation (GLib < 2.76).
  export G_SLICE=always-malloc
  # Any sanitizer report fails the test that triggered it (UBSan would otherwise print and go on).
  # TSan: calls into its interceptors from uninstrumented modules (Debian's libraries, GStreamer's
  # plugins) are ignored; races on our side are reported whatever stack they come through
  # (tests/tsan.supp).
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
  export ACTIOND_SANITIZE="$SANITIZE"  # tests that cannot run under a sanitizer say so and leave that part out
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$ACTIOND_ROOT/tests/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
fi
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 "${CTEST_ARGS[@]}"
