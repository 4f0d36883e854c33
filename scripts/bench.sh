#!/usr/bin/env bash
# Throughput benchmark (not part of the test suite): N live 720p25 cameras analysed at 5 fps by the
# default models, against plain GStreamer decode + rate + scale of the same streams.
#   scripts/bench.sh                       # N = 1,2,4,8,16,24,32, 30 s each (about 15 minutes)
#   CAMERAS=16,24 SECONDS_PER_RUN=60 RES=1080p30 scripts/bench.sh
#   CAMERAS=19 SECONDS_PER_RUN=1800 DAEMON_ONLY=1 TAG=-rss scripts/bench.sh   # 30-minute RSS flatness run
#   CAMERAS=16 MAX_BATCH=1 DAEMON_ONLY=1 TAG=-nobatch scripts/bench.sh          # without cross-camera batching
# Writes build/bench/results-RES.jsonl (one JSON line per N) and trace-RES.jsonl (RSS, heap, fds, threads
# every 10 s); prints one JSON line per N.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"
actiond_build build >&2
OUT=build/bench
mkdir -p "$OUT"
RES="${RES:-720p25}"
case "$RES" in
  720p25) W=1280; H=720; FR=25 ;;
  1080p30) W=1920; H=1080; FR=30 ;;
  *) echo "bench: RES must be 720p25 or 1080p30" >&2; exit 2 ;;
esac
VIDEO="$PWD/$OUT/$RES.mp4"
if [ ! -s "$VIDEO" ]; then
  # 60 s of moving content (a bouncing ball over a moving pattern), H.264 main profile, 2 s GOP, ~2-4 Mb/s.
  gst-launch-1.0 -q videotestsrc pattern=ball motion=sweep num-buffers=$((60 * FR)) \
    ! "video/x-raw,width=$W,height=$H,framerate=$FR/1" ! videoconvert \
    ! x264enc speed-preset=veryfast key-int-max=$((2 * FR)) bitrate=3000 ! "video/x-h264,profile=main" \
    ! h264parse ! mp4mux ! filesink location="$VIDEO"
fi
/usr/bin/python3 scripts/bench.py --actiond build/daemon/actiond --models models/default --video "$VIDEO" \
  --cameras "${CAMERAS:-1,2,4,8,16,24,32}" --seconds "${SECONDS_PER_RUN:-30}" --max-wait-ms "${MAX_WAIT_MS:-5}" --max-batch "${MAX_BATCH:-32}" \
  ${DAEMON_ONLY:+--daemon-only} --out "$OUT/results-$RES${TAG:-}.jsonl" --trace "$OUT/trace-$RES${TAG:-}.jsonl"
