#!/usr/bin/env bash
# What the default frame path is measured against, after a run of scripts/train-default-models.sh
# (WORK): each member of its ensemble alone, calibrated and with its tracker settings chosen on the val
# split exactly as the ensemble's, on the test split and on a second, larger set of unseen videos:
#   asquery  the ASQuery-style segmenter alone (the default path until 2026-12-06)
#   gru      the plain causal GRU alone: the "GRU with hysteresis" baseline (hysteresis = the
#            tracker's confirmation frames and threshold)
#   shipped  the ensemble the default path installs
# Each also with the settings a camera used before they were chosen on val (the demo camera's).
#   WORK=build/train-s7 scripts/workbench-baselines.sh
# UNSEEN_SEED (default 101): the unseen set is `actiond world --seed UNSEEN_SEED --test-fraction 1`
# (32 videos, WORK's number of activities), features through WORK's backbone.
# Results: WORK/baselines/NAME.{test,unseen}.json, NAME.untuned.{test,unseen}.json; a table on stdout.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

WORK="${WORK:-build/train}"
UNSEEN_SEED="${UNSEEN_SEED:-101}"
PY=/usr/bin/python3
A="$WORK/bin/actiond"
for f in "$A" "$WORK/segmenter.pt" "$WORK/gru/gru-segmenter.pt" "$WORK/calibrated/segmenter.pt" \
         "$WORK/world/splits/val.split1.bundle"; do
  [ -e "$f" ] || { echo "workbench-baselines: $f missing: run scripts/train-default-models.sh (WORK=$WORK) first" >&2; exit 2; }
done
cp build/daemon/actiond "$A"  # this build's eval (tuning objective included)
B="$WORK/baselines"
U="$WORK/unseen"
mkdir -p "$B"
if [ ! -f "$U/.done" ]; then
  activities=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["activities"])' "$WORK/run.json" 2>/dev/null || echo 3)
  rm -rf "$U"
  $A world --out "$U/world" --videos 32 --seed "$UNSEEN_SEED" --activities "$activities" --test-fraction 1
  $A extract --model "$WORK/backbone.pt" --videos "$U/world/videos" --out "$U/features" --fps 5
  touch "$U/.done"
fi

measure() {  # NAME MODEL: test and unseen figures as the model stands
  "$A" eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$2" --split test --json > "$B/$1.test.json"
  "$A" eval --workbench "$U/world" --features "$U/features" --segmenter "$2" --split test --json > "$B/$1.unseen.json"
}
member() {  # NAME FILE: calibrated and its settings chosen on val as the shipped model's, measured before and after
  $PY -m actiond_train.calibrate_frames --world "$WORK/world" --features "$WORK/features" --segmenter "$2" \
    --recognizer "$WORK/recognizer.pt" --quantile 0.999 --out-dir "$B/$1" > "$B/$1.calibrate.log"
  local model="$B/$1/$(basename "$2")"
  measure "$1.untuned" "$model"
  "$A" eval --workbench "$WORK/world" --features "$WORK/features" --segmenter "$model" --split val --tune --json \
    > "$B/$1.val.json"
  $PY -m actiond_train.set_decoding --model "$model" --chosen-on "val split" < "$B/$1.val.json"
  measure "$1" "$model"
}
member asquery "$WORK/segmenter.pt"
member gru "$WORK/gru/gru-segmenter.pt"
$PY -m actiond_train.set_decoding --model "$WORK/calibrated/segmenter.pt" --clear --out "$B/shipped.pt"
measure shipped.untuned "$B/shipped.pt"
measure shipped "$WORK/calibrated/segmenter.pt"
$PY -m actiond_train.baselines_table "$B"
