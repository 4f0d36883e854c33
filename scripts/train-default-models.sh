#!/usr/bin/env bash
# Re-trains actiond's default models from scratch, with the same pipeline a user would run on their
# own videos, and installs them in models/default/:
#   1. actiond world    -> the workbench benchmark (videos, groundTruth, mapping, splits)
#   2. actiond extract  -> model-input frames through the daemon's own decode + resize path
#   3. train_backbone   -> frame CNN, TorchScript with manifest
#   4. actiond extract  -> backbone features through the daemon's TorchScript path
#   5. train_segmenter  -> streaming segmenter (after ASQuery), TorchScript with manifest
#   6. train_recognizer -> TSN-style clip recognizer (recognition events), TorchScript with manifest
#   7. actiond eval     -> metrics on the test split (docs/RESULTS.md)
# Deterministic by SEED. Takes about 20 minutes on 2 cores. WORK (default build/train) holds the data.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

SEED="${SEED:-1}"
WORK="${WORK:-build/train}"
VIDEOS="${VIDEOS:-32}"
STEPS="${STEPS:-4000}"
LOOKAHEAD="${LOOKAHEAD:-5}"
EPOCHS="${EPOCHS:-8}"
PY=/usr/bin/python3
actiond_build build >&2
start=$SECONDS

rm -rf "$WORK" && mkdir -p "$WORK/bin"
# A private copy of the binary, so rebuilding build/ meanwhile does not disturb a run.
A="$WORK/bin/actiond"
cp build/daemon/actiond "$A"
$A world --out "$WORK/world" --videos "$VIDEOS" --seed "$SEED" --activities 3
$A extract --videos "$WORK/world/videos" --out "$WORK/frames" --frames 64x64 --fps 5
$PY models/train/train_backbone.py --world "$WORK/world" --frames "$WORK/frames" --out "$WORK/backbone.pt" --seed "$SEED" --epochs "$EPOCHS"
$A extract --model "$WORK/backbone.pt" --videos "$WORK/world/videos" --out "$WORK/features" --fps 5
$PY models/train/train_segmenter.py --world "$WORK/world" --features "$WORK/features" --out "$WORK/segmenter.pt" \
  --seed "$SEED" --steps "$STEPS" --lookahead "$LOOKAHEAD"
$PY models/train/train_recognizer.py --world "$WORK/world" --features "$WORK/features" --out "$WORK/recognizer.pt" \
  --seed "$SEED"
$A eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$WORK/segmenter.pt" | tee "$WORK/eval.txt"
$A eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$WORK/segmenter.pt" --json > "$WORK/eval.json"

mkdir -p models/default
cp "$WORK/backbone.pt" "$WORK/segmenter.pt" "$WORK/recognizer.pt" "$WORK/eval.json" models/default/
(cd models/default && sha256sum backbone.pt segmenter.pt recognizer.pt > SHA256SUMS)
echo "default models retrained in $((SECONDS - start)) s (seed $SEED); checksums in models/default/SHA256SUMS" >&2
