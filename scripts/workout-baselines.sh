#!/usr/bin/env bash
# Baselines for the workout benchmark (docs/RESULTS.md), on the same streams as the skeleton model
# (scripts/train-workout-models.sh must have run: it leaves WORK/world and the extracted features):
#   frame    the frame path without pose: the frame CNN backbone (train_backbone.py) trained on the
#            train split's 64x64 frames, then the ASQuery-style segmenter on its features
#   asquery  the ASQuery-style segmenter (train_segmenter.py) on the pose features
#   zoo      causal zoo heads (train_zoo.py; MODELS, default "tcn tsm"; "gru" the plain recurrent
#            baseline) on the pose features
# Each row: actiond eval --workbench on the test streams (the daemon's windows and tracker), settings
# tuned on the val streams as for the skeleton model. Results: WORK/baselines/NAME.json (test),
# NAME.ood.json (the non-exercise footage: false segments).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

SEED="${SEED:-1}"
WORK="${WORK:-build/workout}"
FPS="${FPS:-10}"
STEPS="${STEPS:-2000}"
EPOCHS="${EPOCHS:-6}"
THREADS="${THREADS:-2}"
MODELS="${MODELS:-tcn tsm}"
SHARED="${ACTIOND_SHARED_DIR:-$ACTIOND_ROOT/../shared}"
DATA="$SHARED/data/workout"
PY=/usr/bin/python3
A="$WORK/bin/actiond-baselines"
mkdir -p "$WORK/bin" && cp build/daemon/actiond "$A"  # this build's eval (tuning grid included)
B="$WORK/baselines"
[ -d "$WORK/world" ] || { echo "workout-baselines: run scripts/train-workout-models.sh first" >&2; exit 2; }
mkdir -p "$B"
evaluate() {  # NAME WORLD MODEL: tune on val, write the settings, report test
  "$A" eval --workbench "$2" --features "$2/features" --segmenter "$3" --video-fps "$FPS" --analysis-fps "$FPS" \
    --split val --tune --json > "$B/$1.val.json"
  $PY -m actiond_train.set_decoding --model "$3" --chosen-on "val streams" < "$B/$1.val.json"
  "$A" eval --workbench "$2" --features "$2/features" --segmenter "$3" --video-fps "$FPS" --analysis-fps "$FPS" \
    --split test --json > "$B/$1.json"
  "$A" eval --workbench "$2" --features "$2/features" --segmenter "$3" --video-fps "$FPS" --analysis-fps "$FPS" \
    --split ood --json > "$B/$1.ood.json"
  echo "workout-baselines: $1 -> $B/$1.json" >&2
}

for what in ${BASELINES:-frame asquery zoo}; do
  case "$what" in
    frame)
      if [ ! -f "$B/frames/.done" ]; then
        for cls in push-ups pull-ups squats dips; do
          $A extract --videos "$DATA/videos/$cls" --out "$B/frames/$cls" --frames 64x64 --fps "$FPS"
        done
        $A extract --videos "$WORK/fillers/videos" --out "$B/frames/fillers" --frames 64x64 --fps "$FPS"
        touch "$B/frames/.done"
      fi
      $PY -m actiond_train.workout --data "$DATA" --extract "$B/frames" --fillers "$B/frames/fillers" --out "$B/world-frames" --fps "$FPS" --seed "$SEED"
      $PY -m actiond_train.train_backbone --world "$B/world-frames" --frames "$B/world-frames/features" --out "$B/backbone.pt" \
        --video-fps "$FPS" --epochs "$EPOCHS" --seed "$SEED" --threads "$THREADS"
      for cls in push-ups pull-ups squats dips; do
        $A extract --model "$B/backbone.pt" --videos "$DATA/videos/$cls" --out "$B/bbfeat/$cls" --fps "$FPS"
      done
      $A extract --model "$B/backbone.pt" --videos "$WORK/fillers/videos" --out "$B/bbfeat/fillers" --fps "$FPS"
      $PY -m actiond_train.workout --data "$DATA" --extract "$B/bbfeat" --fillers "$B/bbfeat/fillers" --out "$B/world-bb" --fps "$FPS" --seed "$SEED"
      $PY -m actiond_train.train_segmenter --world "$B/world-bb" --features "$B/world-bb/features" --out "$B/frame-asquery.pt" \
        --video-fps "$FPS" --window 64 --lookahead 5 --steps "$STEPS" --seed "$SEED" --threads "$THREADS"
      evaluate frame-asquery "$B/world-bb" "$B/frame-asquery.pt" ;;
    asquery)
      $PY -m actiond_train.train_segmenter --world "$WORK/world" --features "$WORK/world/features" --out "$B/pose-asquery.pt" \
        --video-fps "$FPS" --window 64 --lookahead 5 --steps "$STEPS" --seed "$SEED" --threads "$THREADS"
      evaluate pose-asquery "$WORK/world" "$B/pose-asquery.pt" ;;
    zoo)
      for m in $MODELS; do
        $PY -m actiond_train.train_zoo --model "$m" --world "$WORK/world" --features "$WORK/world/features" --out-dir "$B/zoo" \
          --name workout --window 64 --steps "$STEPS" --video-fps "$FPS" --seed "$SEED" --threads "$THREADS" > "$B/zoo-$m.log" 2>&1
        evaluate "pose-$m" "$WORK/world" "$B/zoo/$m-segmenter.pt"
      done ;;
    *) echo "workout-baselines: unknown baseline $what" >&2; exit 2 ;;
  esac
done
