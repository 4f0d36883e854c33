#!/usr/bin/env bash
# Installs what is missing, builds, runs actiond on the built-in demo configuration
# (config/examples/demo/) and prints every event as one readable line (actionctl tail). Stops after
# DEMO_SECONDS (default 60). Daemon logs go to build/demo-actiond.log.
#   scripts/demo.sh            # the synthetic workbench camera: actions with a start and an end
#   scripts/demo.sh --people   # real pedestrians (opencv-doc's vtest.avi), MoveNet multipose, person tracks
#   scripts/demo.sh --workout  # real exercise videos (../shared/data/workout test split): exercise segments
#                              # and repetition counts (models/workout, scripts/train-workout-models.sh)
#   scripts/demo.sh --falls    # real fall clips (../shared/data/falls, held out of training): `falling`
#                              # then `lying` segments, the fall alarm (models/falls, scripts/train-fall-models.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

DEMO_SECONDS_SET="${DEMO_SECONDS:-}"
DEMO_SECONDS="${DEMO_SECONDS:-60}"
BUILD_DIR="${BUILD_DIR:-build}"
EXAMPLE=demo
ENDPOINT="tcp://127.0.0.1:7700"
EXTRA=()
case "${1:-}" in
  "") ;;
  --people) EXAMPLE=people; ENDPOINT="tcp://127.0.0.1:7701" ;;
  --workout) EXAMPLE=workout; ENDPOINT="tcp://127.0.0.1:7703"; DEMO_SECONDS="${DEMO_SECONDS_SET:-20}" ;;
  --falls) EXAMPLE=falls; ENDPOINT="tcp://127.0.0.1:7704"; DEMO_SECONDS="${DEMO_SECONDS_SET:-30}" ;;
  *) echo "usage: scripts/demo.sh [--people | --workout | --falls]" >&2; exit 2 ;;
esac
actiond_build "$BUILD_DIR" >&2

if [ "$EXAMPLE" != demo ]; then
  # The pose models are imported from the npm package at build time (scripts/fetch-pretrained.sh).
  EXTRA=(--model-dir "$BUILD_DIR/models/pretrained")
  pose=movenet-multipose.pt
  case "$EXAMPLE" in workout | falls) pose=movenet-lightning.pt ;; esac
  if [ ! -f "$BUILD_DIR/models/pretrained/$pose" ]; then
    echo "demo: $BUILD_DIR/models/pretrained/$pose is missing: the pretrained models could not be fetched; run scripts/fetch-pretrained.sh (needs the npm registry), then this again" >&2
    exit 1
  fi
fi
if [ "$EXAMPLE" = workout ] && [ ! -f "$ACTIOND_ROOT/../shared/data/workout/index.csv" ]; then
  echo "demo: ../shared/data/workout is not beside the repository: the workout example plays its test videos" >&2
  exit 1
fi
if [ "$EXAMPLE" = falls ] && [ ! -f "$ACTIOND_ROOT/../shared/data/falls/index.csv" ]; then
  echo "demo: ../shared/data/falls is not beside the repository: the falls example plays its held-out clips" >&2
  exit 1
fi
LOG="$BUILD_DIR/demo-actiond.log"

# Subscribe first: the SUB socket retries until actiond binds, so no event is missed.
"$BUILD_DIR/daemon/actionctl" tail --endpoint "$ENDPOINT" &
SUB_PID=$!
"$BUILD_DIR/daemon/actiond" --config "config/examples/$EXAMPLE" "${EXTRA[@]}" 2>"$LOG" &
DAEMON_PID=$!
cleanup() { kill "$SUB_PID" "$DAEMON_PID" 2>/dev/null || true; }
trap cleanup EXIT

echo "demo: actiond running (pid $DAEMON_PID), events on $ENDPOINT for ${DEMO_SECONDS}s; log in $LOG" >&2
echo "demo: live web timeline, clips and the HTTP API on http://127.0.0.1:7702/ (docs/API.md)" >&2
end=$((SECONDS + DEMO_SECONDS))
while [ $SECONDS -lt $end ]; do
  if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
    echo "demo: actiond exited early; last log lines:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  sleep 1
done

kill -TERM "$DAEMON_PID"
status=0
wait "$DAEMON_PID" || status=$?
sleep 0.5  # let the subscriber print the shutdown events
kill -TERM "$SUB_PID" 2>/dev/null || true
wait "$SUB_PID" 2>/dev/null || true
trap - EXIT
if [ "$status" -ne 0 ]; then
  echo "demo: actiond exited with status $status; see $LOG" >&2
  exit 1
fi
echo "demo: done" >&2
