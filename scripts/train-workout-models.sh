#!/usr/bin/env bash
# Trains the workout models (exercise segmentation + repetition counting on pose features) from the
# real exercise videos of ../shared/data/workout, the way a user trains on their own videos:
#   1. actiond extract   -> per video, the tracked person's pose features through the daemon's own
#                           decode + MoveNet + person tracking (and of the non-exercise footage:
#                           scripts/people-footage.sh, shared with train-fall-models.sh)
#   2. workout.py        -> untrimmed train / val / test streams (videos joined with people walking),
#                           and the fall data's clips as non-exercise streams (open set: two rooms
#                           train and validate, Home_01 is never trained on and joins `ood`)
#   3. train_skeleton.py -> graph-convolution segmenter with a repetition head, calibrated, with an
#                           out-of-distribution check; TorchScript with manifest
#   4. train_zoo.py      -> causal TCN exercise segmenter on the same streams
#   5. combine_workout.py + actiond eval -> the camera's model: the TCN's exercise probabilities, the
#                           skeleton model's repetitions and its out-of-distribution check (an exercise
#                           opens only after 5 in-distribution frames in a row); decoding settings chosen
#                           on the val streams (held out of training), written into the manifest; then
#                           the test figures (docs/RESULTS.md)
# and installs the models in models/workout/. Deterministic by SEED; PEOPLE (default build/people)
# keeps the extracted features, so a second run starts at step 2 (FRESH=1 starts over).
# The data is for internal use only (its README): the models say so in their manifest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/people-footage.sh"
cd "$ACTIOND_ROOT"

SEED="${SEED:-1}"
WORK="${WORK:-build/workout}"
FPS="${FPS:-10}"
STEPS="${STEPS:-2000}"
THREADS="${THREADS:-2}"
SHARED="${ACTIOND_SHARED_DIR:-$ACTIOND_ROOT/../shared}"
DATA="$SHARED/data/workout"
PEOPLE="${PEOPLE:-build/people}"
POSE="${POSE:-build/models/pretrained/movenet-lightning.pt}"
PY=/usr/bin/python3
[ -f "$DATA/index.csv" ] || { echo "train-workout-models: $DATA/index.csv not found (../shared/data/workout)" >&2; exit 2; }
[ -z "${SKIP_BUILD:-}" ] && actiond_build build >&2
[ -f "$POSE" ] || { echo "train-workout-models: $POSE missing: run scripts/fetch-pretrained.sh, then build" >&2; exit 2; }
start=$SECONDS
[ -n "${FRESH:-}" ] && rm -rf "$WORK" "$PEOPLE"
mkdir -p "$WORK/bin"
A="$WORK/bin/actiond"
cp build/daemon/actiond "$A"
step() { printf '\n== %s (%d s)\n' "$*" $((SECONDS - start)) >&2; }

step "1/4 pose features of the videos through the daemon's path ($FPS fps)"
people_footage "$A" "$POSE" "$PEOPLE" "$FPS" "$THREADS"
step "2/4 untrimmed streams"
rm -rf "$WORK/world"
$PY -m actiond_train.workout --data "$DATA" --extract "$PEOPLE" --fillers "$PEOPLE/fillers" --out "$WORK/world" \
  --falls-data "$SHARED/data/falls" --falls-extract "$PEOPLE/falls" --fps "$FPS" --seed "$SEED"

step "3/5 skeleton segmenter with a repetition head ($STEPS steps)"
$PY -m actiond_train.train_skeleton --world "$WORK/world" --out "$WORK/skeleton.pt" --name workout-skeleton-gcn \
  --layout coco17 --steps "$STEPS" --fps "$FPS" --seed "$SEED" --threads "$THREADS" --source-json "$WORK/world/pieces.json"

step "4/5 causal TCN exercise segmenter ($STEPS steps)"
$PY -m actiond_train.train_zoo --model tcn --world "$WORK/world" --features "$WORK/world/features" --out-dir "$WORK/zoo" \
  --name workout --window 64 --steps "$STEPS" --video-fps "$FPS" --seed "$SEED" --threads "$THREADS"

step "5/5 the camera's model; decoding settings on the val streams, then the test figures"
$PY -m actiond_train.combine_workout --segmenter "$WORK/zoo/tcn-segmenter.pt" --skeleton "$WORK/skeleton.pt" \
  --gate both --latch 5 --name workout-tcn-gcn --out "$WORK/segmenter.pt"
ev=($A eval --workbench "$WORK/world" --features "$WORK/world/features" --segmenter "$WORK/segmenter.pt"
    --video-fps "$FPS" --analysis-fps "$FPS")
# Segment settings on val; the repetition counter (the pose signal: nothing trained) on train + val.
"${ev[@]}" --split val --tune --tune-repetitions-on train+val --json > "$WORK/val.json"
$PY -m actiond_train.set_decoding --model "$WORK/segmenter.pt" \
  --chosen-on "segment settings: val streams of actiond_train.workout (index.csv train videos held out of training); repetition settings: train + val streams (the pose counter learns nothing)" < "$WORK/val.json"
"${ev[@]}" --split test --json > "$WORK/eval.json"
"${ev[@]}" --split ood --json > "$WORK/ood.json"
"${ev[@]}" --split test | tee "$WORK/eval.txt"
"${ev[@]}" --split ood | grep "^non-exercise" | tee -a "$WORK/eval.txt"

mkdir -p models/workout
cp "$WORK/segmenter.pt" models/workout/segmenter.pt
cp "$WORK/eval.json" models/workout/eval.json
cp "$WORK/ood.json" models/workout/ood.json
(cd models/workout && sha256sum segmenter.pt > SHA256SUMS)
echo "workout models trained in $((SECONDS - start)) s (seed $SEED) -> models/workout/" >&2
