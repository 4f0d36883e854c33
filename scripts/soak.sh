#!/usr/bin/env bash
# Soak run (not part of the test suite; docs/RELIABILITY.md): the daemon with looping file cameras,
# a flapping RTSP source and camera files added/removed, sampling RSS, fds and threads, checking that
# no event is lost, duplicated or left open. Exit 0 = flat (< 5 % growth after warm-up) and events ok.
#   scripts/soak.sh                              # 60 minutes, 6 file cameras, churn every 20 s
#   MINUTES=10 WARMUP=2 CAMERAS=4 scripts/soak.sh
# Writes build/soak/result.json and build/soak/trace.jsonl.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"
actiond_build build -DACTIOND_BUILD_TESTS=ON >&2
OUT=build/soak
mkdir -p "$OUT"
VIDEO="$OUT/clip15.mp4"
if [ ! -s "$VIDEO" ]; then
  # 15 s of 640x360 25 fps H.264: each file camera reconnects (loops) every 15 s.
  gst-launch-1.0 -q videotestsrc pattern=ball motion=sweep num-buffers=375 \
    ! "video/x-raw,width=640,height=360,framerate=25/1" ! videoconvert ! x264enc speed-preset=veryfast key-int-max=50 \
    ! h264parse ! mp4mux ! filesink location="$VIDEO"
fi
rm -f "$OUT/trace.jsonl"
/usr/bin/python3 scripts/soak.py --actiond build/daemon/actiond --flapper build/tests/actiond_rtsp_flapper \
  --models models/default --video "$VIDEO" --cameras "${CAMERAS:-6}" --minutes "${MINUTES:-60}" \
  --warmup-minutes "${WARMUP:-5}" --churn-s "${CHURN_S:-20}" --trace "$OUT/trace.jsonl" | tee "$OUT/result.json"
