#!/usr/bin/env bash
# The seed model zoo on both benchmarks (docs/RESULTS.md, "Model zoo"): trains every model of
# actiond_train.zoo, measures it (train_zoo.py) and runs the daemon's own evaluation with the segment
# tracker (actiond eval --workbench) on its exported segmenter.
#   scripts/zoo.sh                         # both benchmarks, every model
#   MODELS="tsn tcn" BENCHMARKS=msr STEPS=500 APPEND=1 scripts/zoo.sh
# Benchmarks:
#   workbench  the synthetic workbench world (video), features from the default backbone through the
#              daemon's decode path (actiond extract), 5 fps, window 24 (4.8 s)
#   msr        MSR Action3D skeletons (../shared/data/msr-action3d), untrimmed streams of each subject's
#              sequences, cross-subject (odd train, even test), 15 fps, window 48 (3.2 s)
# Writes WORK/results.jsonl (RESULTS; APPEND=1 keeps earlier lines) (one line per model and benchmark, train_zoo.py's figures plus "tracker",
# the daemon's online metrics) and the models to WORK/BENCH/models/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ACTIOND_ROOT"

WORK="${WORK:-build/zoo}"
SEED="${SEED:-1}"
STEPS="${STEPS:-1000}"
MODELS="${MODELS:-asquery tsn tcn tsm tin cast oadtr afnet}"
ASQ_STEPS="${ASQ_STEPS:-$STEPS}"
THREADS="${THREADS:-2}"
BENCHMARKS="${BENCHMARKS:-workbench msr}"
SHARED="${ACTIOND_SHARED_DIR:-$ACTIOND_ROOT/../shared}"
PY=/usr/bin/python3
actiond_build build >&2
mkdir -p "$WORK/bin"
A="$WORK/bin/actiond"
cp build/daemon/actiond "$A"
RESULTS="${RESULTS:-$WORK/results.jsonl}"
[ -n "${APPEND:-}" ] || : > "$RESULTS"

for bench in $BENCHMARKS; do
  case "$bench" in
    workbench)
      world="$WORK/workbench/world"; feats="$WORK/workbench/features"; vfps=25; afps=5; window=24; look=5; trimmed=()
      if [ ! -f "$feats/.done" ]; then
        rm -rf "$WORK/workbench" && mkdir -p "$WORK/workbench"
        $A world --out "$world" --videos 32 --seed "$SEED" --activities 3 --val-fraction 0
        $A extract --model models/default/backbone.pt --videos "$world/videos" --out "$feats" --fps 5
        touch "$feats/.done"
      fi ;;
    msr)
      world="$WORK/msr"; feats="$WORK/msr/features"; vfps=15; afps=15; window=48; look=12; trimmed=(--trimmed "$WORK/msr/trimmed")
      [ -f "$world/mapping.txt" ] || $PY -m actiond_train.msr_action3d --data "$SHARED/data/msr-action3d" --out "$world" --seed "$SEED" ;;
    *) echo "zoo: unknown benchmark $bench" >&2; exit 2 ;;
  esac
  for model in $MODELS; do
    out="$WORK/$bench/models"
    mkdir -p "$out"
    if [ "$model" = asquery ]; then
      # The reference segmenter (train_segmenter.py), trained here on this benchmark's train split.
      seg="$out/asquery-segmenter.pt"
      t0=$SECONDS
      $PY -m actiond_train.train_segmenter --world "$world" --features "$feats" --out "$seg" --video-fps "$vfps" \
        --window "$window" --lookahead "$look" --steps "$ASQ_STEPS" --seed "$SEED" --threads "$THREADS" 2>"$WORK/$bench-asquery.log" >&2
      $A eval --workbench "$world" --features "$feats" --segmenter "$seg" --video-fps "$vfps" --analysis-fps "$afps" --json \
        | $PY -m actiond_train.segmenter_row --bench "$bench" --model asquery --file "$seg" \
          --train-seconds $((SECONDS - t0)) | tee -a "$RESULTS"
      continue
    fi
    line=$($PY -m actiond_train.train_zoo --model "$model" --world "$world" --features "$feats" --out-dir "$out" \
      --name "$bench" --window "$window" --steps "$STEPS" --video-fps "$vfps" --seed "$SEED" --threads "$THREADS" "${trimmed[@]}" \
      2>"$WORK/$bench-$model.log" | grep '^{')
    tracker=$($A eval --workbench "$world" --features "$feats" --segmenter "$out/$model-segmenter.pt" \
      --video-fps "$vfps" --analysis-fps "$afps" --json | $PY -c \
      'import json,sys; r=json.load(sys.stdin)["rows"]; print(json.dumps([x for x in r if x["decoding"] == "online: daemon windows + segment tracker"][0]))')
    $PY -c 'import json,sys; a=json.loads(sys.argv[1]); a["tracker"]=json.loads(sys.argv[2]); print(json.dumps(a))' \
      "$line" "$tracker" | tee -a "$RESULTS"
  done
done
echo "zoo: results in $RESULTS" >&2
