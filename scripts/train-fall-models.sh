#!/usr/bin/env bash
# Trains the fall model (per-person `falling` and `lying` segments on pose features) from the real fall
# videos of ../shared/data/falls (Le2i: three rooms), with every other real footage of people we have as
# fall-free negatives (the workout videos, opencv-doc's vtest.avi), and measures it as a user would:
#   1. pose features of all that footage through the daemon's decode + MoveNet + person tracking
#      (scripts/people-footage.sh; shared with train-workout-models.sh)
#   2. per rotation (leave one room out: test on the room not trained on) and once on every room (the
#      model that ships): actiond_train.falls builds the world, then
#      - the skeleton segmenter (train_skeleton.py: graph convolutions, 0.5 s look-ahead), calibrated
#        on val (temperature, out-of-distribution check on the embedding and the pose)
#      - a plain causal GRU (train_zoo.py --model gru) on the same features: the baseline
#      - ours: the mean of the two (ensemble.py)
#      each with its tracker settings chosen on val for alarms (actiond eval --tune --tune-objective
#      alarms: falls found minus false alarms), then the test streams through the daemon's tracker
#      (actiond eval --decisions) and actiond_train.fall_metrics
#   3. the table of every rotation and the pooled row (WORK/results.txt, docs/RESULTS.md), and
#      models/falls/ (ours, trained on every room; its manifest names the data)
# Options (environment): SEED, STEPS (skeleton), GRU_STEPS, FPS (10), THREADS (2), WORK (build/falls),
# PEOPLE (build/people-falls: extracted features, kept between runs; FRESH=1 starts over), MIN_SCORE
# (persons.min_score of the extraction and of the example cameras, 0.15), ROOMS (the
# rotations to run, default all three and none), MAX_CLIPS (a quick run on the first N clips of each
# room; nothing is installed), INSTALL=0 (do not install into models/falls), ACTIOND_BIN (the actiond
# binary; default build/daemon/actiond), SKIP_BUILD=1 (use it as built).
# The data is for internal use only (its README): the model's manifest says so.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/people-footage.sh"
cd "$ACTIOND_ROOT"

SEED="${SEED:-1}"
STEPS="${STEPS:-700}"
GRU_STEPS="${GRU_STEPS:-400}"
FPS="${FPS:-10}"
THREADS="${THREADS:-2}"
WORK="${WORK:-build/falls}"
PEOPLE="${PEOPLE:-build/people-falls}"
# The fall camera's person settings (config/examples/falls): MoveNet's person score is low for people
# lying down, seen from high up, or in clothes the colour of the furniture (Le2i's home room: at the
# default 0.25 a person is tracked in 29 % of its frames, at 0.15 in 66 %; docs/RESULTS.md).
MIN_SCORE="${MIN_SCORE:-0.15}"
MAX_CLIPS="${MAX_CLIPS:-0}"
ROOMS="${ROOMS:-Coffee_room_01 Coffee_room_02 Home_01 none}"
INSTALL="${INSTALL:-1}"
SHARED="${ACTIOND_SHARED_DIR:-$ACTIOND_ROOT/../shared}"
POSE="${POSE:-build/models/pretrained/movenet-lightning.pt}"
PY=/usr/bin/python3
for f in "$SHARED/data/falls/index.csv" "$SHARED/data/workout/index.csv"; do
  [ -f "$f" ] || { echo "train-fall-models: $f not found (../shared/data beside the repository)" >&2; exit 2; }
done
[ -z "${SKIP_BUILD:-}" ] && actiond_build build >&2
[ -f "$POSE" ] || { echo "train-fall-models: $POSE missing: run scripts/fetch-pretrained.sh, then build" >&2; exit 2; }
[ "$MAX_CLIPS" -gt 0 ] && INSTALL=0
start=$SECONDS
[ -n "${FRESH:-}" ] && rm -rf "$WORK" "$PEOPLE"
mkdir -p "$WORK/bin"
A="$WORK/bin/actiond"
cp "${ACTIOND_BIN:-build/daemon/actiond}" "$A"
n_rooms=$(wc -w <<<"$ROOMS")
step() { printf '\n== [%s] %s (%d s elapsed)\n' "$1" "$2" $((SECONDS - start)) >&2; }

step "1/3" "pose features of the falls, workout and opencv-doc footage ($FPS fps)"
people_footage "$A" "$POSE" "$PEOPLE" "$FPS" "$THREADS" "$MAX_CLIPS" --min-score "$MIN_SCORE"

decide() {  # MODEL WORLD NAME: settings on val into the manifest, then the test decisions and figures
  local model="$1" world="$2" name="$3"
  local ev=("$A" eval --workbench "$world" --features "$world/features" --segmenter "$model"
            --video-fps "$FPS" --analysis-fps "$FPS")
  "${ev[@]}" --split val --tune --tune-objective alarms --json > "${model%.pt}.val.json"
  $PY -m actiond_train.set_decoding --model "$model" \
    --chosen-on "val streams of actiond_train.falls (clips of the training rooms and fall-free footage held out of training), for alarms" \
    < "${model%.pt}.val.json"
  "${ev[@]}" --split test --json --decisions "${model%.pt}.decisions.json" > "${model%.pt}.eval.json"
  $PY -m actiond_train.fall_metrics --world "$world" --decisions "${model%.pt}.decisions.json" --name "$name" \
    --json "${model%.pt}.falls.json" >/dev/null
}

i=0
for room in $ROOMS; do
  i=$((i + 1))
  dir="$WORK/$room"
  rm -rf "$dir/world"
  mkdir -p "$dir"
  step "2/3 $i/$n_rooms" "test room $room: world, skeleton segmenter ($STEPS steps), GRU ($GRU_STEPS steps), their mean"
  $PY -m actiond_train.falls --data "$SHARED/data/falls" --workout-data "$SHARED/data/workout" --extract "$PEOPLE" \
    --fillers "$PEOPLE/fillers" --test-room "$room" --out "$dir/world" --fps "$FPS" --max-clips "$MAX_CLIPS" --min-score "$MIN_SCORE"
  # A rotation whose models were trained on the same world and settings is not trained again (resume).
  trained="$STEPS $GRU_STEPS $SEED $MIN_SCORE $MAX_CLIPS $(sha256sum "$dir/world/falls.json" | cut -c1-16)"
  if [ ! -f "$dir/trained" ] || [ "$(cat "$dir/trained")" != "$trained" ]; then
    $PY -m actiond_train.train_skeleton --world "$dir/world" --out "$dir/skeleton.pt" --name "falls-skeleton-gcn" \
      --layout coco17 --steps "$STEPS" --fps "$FPS" --seed "$SEED" --threads "$THREADS" --source-json "$dir/world/falls.json"
    $PY -m actiond_train.train_zoo --model gru --world "$dir/world" --features "$dir/world/features" --out-dir "$dir/zoo" \
      --name falls --window 64 --steps "$GRU_STEPS" --video-fps "$FPS" --seed "$SEED" --threads "$THREADS" >/dev/null
    echo "$trained" > "$dir/trained"
  else
    echo "-- $room: models already trained with these settings ($dir/trained)" >&2
  fi
  cp "$dir/zoo/gru-segmenter.pt" "$dir/baseline.pt"
  $PY -m actiond_train.ensemble --segmenter "$dir/skeleton.pt" --segmenter "$dir/baseline.pt" --name falls-gcn-gru \
    --out "$dir/segmenter.pt" >/dev/null
  decide "$dir/segmenter.pt" "$dir/world" "ours, test $room"
  decide "$dir/baseline.pt" "$dir/world" "GRU baseline, test $room"
  decide "$dir/skeleton.pt" "$dir/world" "skeleton alone, test $room"
done

step "3/3" "figures"
{
  $PY -m actiond_train.fall_metrics --header
  for model in segmenter baseline skeleton; do
    files=()
    for room in $ROOMS; do
      $PY -m actiond_train.fall_metrics --pool "$WORK/$room/$model.falls.json" --name "$model, test $room"
      [ "$room" != none ] && files+=("$WORK/$room/$model.falls.json")
    done
    if [ ${#files[@]} -gt 1 ]; then
      $PY -m actiond_train.fall_metrics --pool "${files[@]}" --name "$model, pooled rotations"
    fi
  done
} | tee "$WORK/results.txt"

if [ "$INSTALL" = 1 ] && [ -f "$WORK/none/segmenter.pt" ]; then
  mkdir -p models/falls
  cp "$WORK/none/segmenter.pt" models/falls/segmenter.pt
  cp "$WORK/results.txt" models/falls/results.txt
  (cd models/falls && sha256sum segmenter.pt > SHA256SUMS)
  echo "fall model installed in models/falls/" >&2
fi
echo "train-fall-models: done in $((SECONDS - start)) s (seed $SEED); table in $WORK/results.txt" >&2
