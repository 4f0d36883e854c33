#!/usr/bin/env bash
# Pose benchmark (not part of the test suite): the cost of each imported pose model per frame, then
# N live noisy 720p25 cameras of walking people (opencv-doc's vtest.avi scaled to 720p, blended with
# 15 % sensor noise, H.264 veryfast 3 Mb/s, GOP 50) analysed at 5 fps by movenet-multipose with person
# tracks and per-person segments, without and with the motion gate, against decode-only.
#   scripts/bench-pose.sh                          # N = 1,2,3,4, 30 s each
#   CAMERAS=2,3 SECONDS_PER_RUN=60 scripts/bench-pose.sh
#   CAPACITY=8:24 scripts/bench-pose.sh            # the pose tier: the largest N in real time with
#                                                  # movenet-lightning (192x192, two intra-op threads,
#                                                  # the analysis-grade decoder), without and with the gate
#   STAGGER=2 CAPACITY=12:24 scripts/bench-pose.sh # the same with cameras started one by one over 2 s
#                                                  # (key frames not all at once, as independent cameras)
# Writes build/bench/pose-cost.jsonl, pose-720p25.jsonl and pose-720p25-gate.jsonl.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"
actiond_build build >&2
OUT=build/bench
mkdir -p "$OUT"
MODELS=build/models/pretrained
[ -f "$MODELS/movenet-multipose.pt" ] || { echo "bench-pose: $MODELS/movenet-multipose.pt is missing: run scripts/fetch-pretrained.sh, then build" >&2; exit 1; }
/usr/bin/python3 scripts/bench_pose_cost.py "$MODELS/movenet-lightning.pt" "$MODELS/movenet-multipose.pt" | tee "$OUT/pose-cost.jsonl"
VIDEO="$PWD/$OUT/people-720p25-noisy.mp4"
if [ ! -s "$VIDEO" ]; then
  gst-launch-1.0 -q compositor name=mix sink_1::alpha=0.15 \
    ! video/x-raw,width=1280,height=720,framerate=25/1 ! videoconvert \
    ! x264enc speed-preset=veryfast key-int-max=50 bitrate=3000 ! video/x-h264,profile=main ! h264parse \
    ! mp4mux ! filesink location="$VIDEO" \
    filesrc location=/usr/share/doc/opencv-doc/examples/data/vtest.avi ! decodebin ! videoconvert ! videorate \
    ! videoscale add-borders=true ! video/x-raw,width=1280,height=720,framerate=25/1,pixel-aspect-ratio=1/1 ! mix.sink_0 \
    videotestsrc pattern=snow num-buffers=1980 ! video/x-raw,width=1280,height=720,framerate=25/1 ! mix.sink_1
fi
if [ -n "${CAPACITY:-}" ]; then
  for gate in "" 1; do
    /usr/bin/python3 scripts/bench.py --actiond build/daemon/actiond --models build/tests/models \
      --pose "$MODELS/movenet-lightning.pt" ${gate:+--gate} --threads 2 --input 192x192 --video "$VIDEO" \
      --decoder "${DECODER:-analysis}" --capacity "$CAPACITY" --p99-limit-ms 0 --daemon-only --stagger "${STAGGER:-0}" \
      --seconds "${SECONDS_PER_RUN:-20}" --max-batch 8 --out "$OUT/pose-capacity.jsonl"
  done
  exit 0
fi
for gate in "" 1; do
  /usr/bin/python3 scripts/bench.py --actiond build/daemon/actiond --models build/tests/models \
    --pose "$MODELS/movenet-multipose.pt" ${gate:+--gate} --threads 2 --input 384x288 --video "$VIDEO" \
    --cameras "${CAMERAS:-1,2,3,4}" --seconds "${SECONDS_PER_RUN:-30}" --max-batch 8 \
    --out "$OUT/pose-720p25${gate:+-gate}.jsonl"
done
