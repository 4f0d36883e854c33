#!/usr/bin/env bash
# Re-trains actiond's default models from scratch, with the same pipeline a user would run on their
# own videos, and installs them in models/default/:
#   1. actiond world    -> the workbench benchmark (videos, groundTruth, mapping, splits: train, val
#                          = training videos held out of training to choose settings, test)
#   2. actiond extract  -> model-input frames through the daemon's own decode + resize path
#   3. train_backbone   -> frame CNN, TorchScript with manifest
#   4. actiond extract  -> backbone features through the daemon's TorchScript path
#   5. train_segmenter  -> streaming segmenter (after ASQuery), TorchScript with manifest; train_zoo
#                          --model gru -> a plain causal GRU on the same features; ensemble.py -> the
#                          mean of their probabilities, the camera's segmenter (steadier than either)
#   6. train_recognizer -> TSN-style clip recognizer (recognition events), TorchScript with manifest
#   7. calibrate_frames -> temperature + out-of-distribution check on the backbone features, set on the
#                          val videos; footage unlike the training (vtest.avi, Megamind.avi from
#                          opencv-doc) gives background
#   8. actiond eval --split val --tune + set_decoding.py -> the tracker settings (confirmation, minimum
#                          duration, threshold, onset) chosen on val, written into the segmenter's manifest
#   9. actiond eval     -> metrics on the test split and false segments on that footage (docs/RESULTS.md)
# SEED fixes the data, the initial weights and the batches; weights may still differ slightly between runs
# (CPU kernels). About 11 minutes on 2 cores when nothing else runs. WORK (default build/train) holds the data.
# The same pipeline on another world, without touching models/default/ (a new user's first run):
#   SEED=7 ACTIVITIES=4 WORK=build/train-s7 INSTALL=0 scripts/train-default-models.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

SEED="${SEED:-1}"
WORK="${WORK:-build/train}"
VIDEOS="${VIDEOS:-32}"
STEPS="${STEPS:-4000}"
LOOKAHEAD="${LOOKAHEAD:-5}"
GRU_STEPS="${GRU_STEPS:-1500}"
EPOCHS="${EPOCHS:-8}"
ACTIVITIES="${ACTIVITIES:-3}"
INSTALL="${INSTALL:-1}"
PY=/usr/bin/python3
actiond_build build >&2
start=$SECONDS

rm -rf "$WORK" && mkdir -p "$WORK/bin"
# A private copy of the binary, so rebuilding build/ meanwhile does not disturb a run.
A="$WORK/bin/actiond"
cp build/daemon/actiond "$A"
printf '{"seed": %s, "activities": %s, "videos": %s}\n' "$SEED" "$ACTIVITIES" "$VIDEOS" > "$WORK/run.json"
$A world --out "$WORK/world" --videos "$VIDEOS" --seed "$SEED" --activities "$ACTIVITIES"
$A extract --videos "$WORK/world/videos" --out "$WORK/frames" --frames 64x64 --fps 5
$PY -m actiond_train.train_backbone --world "$WORK/world" --frames "$WORK/frames" --out "$WORK/backbone.pt" --seed "$SEED" --epochs "$EPOCHS"
$A extract --model "$WORK/backbone.pt" --videos "$WORK/world/videos" --out "$WORK/features" --fps 5
$PY -m actiond_train.train_segmenter --world "$WORK/world" --features "$WORK/features" --out "$WORK/segmenter.pt" \
  --seed "$SEED" --steps "$STEPS" --lookahead "$LOOKAHEAD"
mkdir -p "$WORK/gru"
$PY -m actiond_train.train_zoo --model gru --world "$WORK/world" --features "$WORK/features" --out-dir "$WORK/gru" \
  --name workbench --window 40 --steps "$GRU_STEPS" --seed "$SEED" > "$WORK/gru/result.json"
$PY -m actiond_train.ensemble --segmenter "$WORK/segmenter.pt" --segmenter "$WORK/gru/gru-segmenter.pt" \
  --name workbench-asquery-gru --out "$WORK/ensemble/segmenter.pt"
$PY -m actiond_train.train_recognizer --world "$WORK/world" --features "$WORK/features" --out "$WORK/recognizer.pt" \
  --seed "$SEED"
OPENCV_DATA="${OPENCV_DATA:-/usr/share/doc/opencv-doc/examples/data}"
mkdir -p "$WORK/ood-videos" && cp "$OPENCV_DATA/vtest.avi" "$OPENCV_DATA/Megamind.avi" "$WORK/ood-videos/"
$A extract --model "$WORK/backbone.pt" --videos "$WORK/ood-videos" --out "$WORK/ood-features" --fps 5
$PY -m actiond_train.calibrate_frames --world "$WORK/world" --features "$WORK/features" \
  --segmenter "$WORK/ensemble/segmenter.pt" --recognizer "$WORK/recognizer.pt" --quantile 0.999 \
  --out-dir "$WORK/calibrated" --ood "$WORK/ood-features" --ood-world "$WORK/ood-world"
C="$WORK/calibrated"
$A eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$C/segmenter.pt" --split val --tune --json \
  > "$WORK/val.json"
$PY -m actiond_train.set_decoding --model "$C/segmenter.pt" \
  --chosen-on "val split of the world (training videos held out of training), seed $SEED" < "$WORK/val.json"
$A eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$C/segmenter.pt" | tee "$WORK/eval.txt"
$A eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$C/segmenter.pt" --json > "$WORK/eval.json"
$A eval --workbench "$WORK/ood-world" --features "$WORK/ood-world/features" --segmenter "$C/segmenter.pt" --split ood \
  | grep "^non-exercise" | tee -a "$WORK/eval.txt"

if [ "$INSTALL" != 1 ]; then
  echo "models trained in $((SECONDS - start)) s (seed $SEED) -> $C (not installed)" >&2
  exit 0
fi
mkdir -p models/default
cp "$WORK/backbone.pt" "$C/segmenter.pt" "$C/recognizer.pt" "$WORK/eval.json" models/default/
(cd models/default && sha256sum backbone.pt segmenter.pt recognizer.pt > SHA256SUMS)
echo "default models retrained in $((SECONDS - start)) s (seed $SEED); checksums in models/default/SHA256SUMS" >&2
