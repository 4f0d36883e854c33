#!/usr/bin/env bash
# Throughput benchmark (not part of the test suite): N live cameras analysed at 5 fps by the default
# models, against plain GStreamer decode + rate + scale of the same streams.
#   scripts/bench.sh                       # noisy 720p25, N = 1,2,4,8,16,24,32, 30 s each
#   CONTENT=ball scripts/bench.sh          # the cheap clip (a ball over a moving pattern), the old rows
#   CAPACITY=12:40 scripts/bench.sh        # capacity search: the largest N holding real time with
#                                          #   p99 < 100 ms, for actiond and for decode-only, one run
#   CAPACITY=12:40 DECODER=analysis scripts/bench.sh   # ... with the analysis-grade decode path
#   CAMERAS=16,24 SECONDS_PER_RUN=60 RES=1080p30 scripts/bench.sh
#   CAMERAS=19 SECONDS_PER_RUN=1800 DAEMON_ONLY=1 TAG=-rss scripts/bench.sh   # 30-minute RSS flatness run
#   CAMERAS=16 MAX_BATCH=1 DAEMON_ONLY=1 TAG=-nobatch scripts/bench.sh          # without cross-camera batching
# Content: "noisy" (default) is a moving test pattern blended with 15 % per-frame random noise (as
# sensor noise makes real cameras expensive to decode), H.264 main, x264 veryfast with 3 B-frames,
# 3 Mb/s, GOP 50; "ball" is the cheap clip of the first benchmarks.
# Writes build/bench/results-RES-CONTENT.jsonl (one JSON line per N; capacity runs append) and
# trace-*.jsonl (RSS, heap, fds, threads every 10 s); prints one JSON line per run.
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
CONTENT="${CONTENT:-noisy}"
VIDEO="$PWD/$OUT/$RES-$CONTENT.mp4"
ENCODE=(x264enc speed-preset=veryfast key-int-max=$((2 * FR)) bitrate=3000)
if [ ! -s "$VIDEO" ]; then
  case "$CONTENT" in
    # 60 s of a bouncing ball over a moving pattern.
    ball) gst-launch-1.0 -q videotestsrc pattern=ball motion=sweep num-buffers=$((60 * FR)) \
            ! "video/x-raw,width=$W,height=$H,framerate=$FR/1" ! videoconvert \
            ! "${ENCODE[@]}" ! "video/x-h264,profile=main" ! h264parse ! mp4mux ! filesink location="$VIDEO" ;;
    # 60 s of moving colour bars with 15 % random noise blended in, B-frames as x264's own defaults.
    noisy) gst-launch-1.0 -q compositor name=mix sink_1::alpha=0.15 \
             ! "video/x-raw,width=$W,height=$H,framerate=$FR/1" ! videoconvert \
             ! "${ENCODE[@]}" ! "video/x-h264,profile=main" \
             ! h264parse ! mp4mux ! filesink location="$VIDEO" \
             videotestsrc pattern=smpte horizontal-speed=4 num-buffers=$((60 * FR)) \
             ! "video/x-raw,width=$W,height=$H,framerate=$FR/1" ! mix.sink_0 \
             videotestsrc pattern=snow num-buffers=$((60 * FR)) \
             ! "video/x-raw,width=$W,height=$H,framerate=$FR/1" ! mix.sink_1 ;;
    *) echo "bench: CONTENT must be noisy or ball" >&2; exit 2 ;;
  esac
fi
/usr/bin/python3 scripts/bench.py --actiond build/daemon/actiond --models models/default --video "$VIDEO" \
  --cameras "${CAMERAS:-1,2,4,8,16,24,32}" --seconds "${SECONDS_PER_RUN:-30}" --max-wait-ms "${MAX_WAIT_MS:-5}" --max-batch "${MAX_BATCH:-32}" \
  --decoder "${DECODER:-gstreamer}" ${CAPACITY:+--capacity "$CAPACITY"} \
  ${DAEMON_ONLY:+--daemon-only} --out "$OUT/results-$RES-$CONTENT${TAG:-}.jsonl" --trace "$OUT/trace-$RES-$CONTENT${TAG:-}.jsonl"
