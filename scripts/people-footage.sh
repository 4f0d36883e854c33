# Sourced by the person-model training scripts (train-workout-models.sh, train-fall-models.sh): the
# pose features of every real footage of people we have, extracted once through the daemon's own
# decode + MoveNet + person-tracking path and shared by both:
#   OUT/falls/<clip>.*        ../shared/data/falls videos (Le2i: falls, lying, everyday movement)
#   OUT/<exercise>/<video>.*  ../shared/data/workout videos (push-ups, pull-ups, squats, dips)
#   OUT/fillers/<name>.*      opencv-doc's vtest.avi (pedestrians) and Megamind.avi (animation)
# Usage: people_footage ACTIOND POSE_MODEL OUT FPS THREADS [MAX [EXTRACT_ARGS...]]   (MAX: only the
# first MAX videos of each room / exercise, for a quick run; 0 = all; EXTRACT_ARGS: the camera's
# `persons` settings as `actiond extract` options, e.g. --min-score 0.15). Skips what a previous call
# finished (OUT/<part>/.done); OUT/settings records the arguments, and a call with others starts over.
OPENCV_DATA="${OPENCV_DATA:-/usr/share/doc/opencv-doc/examples/data}"

people_footage() {
  local actiond="$1" pose="$2" out="$3" fps="$4" threads="$5" max="${6:-0}"
  shift 6 2>/dev/null || shift $#
  local shared="${ACTIOND_SHARED_DIR:-$ACTIOND_ROOT/../shared}"
  local run=("$actiond" extract --model "$pose" --follow --fps "$fps" --threads "$threads" "$@")
  local settings="$(basename "$pose") fps $fps max $max $*"
  if [ -f "$out/settings" ] && [ "$(cat "$out/settings")" != "$settings" ]; then
    echo "-- $out was extracted with $(cat "$out/settings"); extracting again with $settings" >&2
    rm -rf "$out"
  fi
  mkdir -p "$out"
  echo "$settings" > "$out/settings"
  local part src
  for part in falls push-ups pull-ups squats dips fillers; do
    [ -f "$out/$part/.done" ] && continue
    mkdir -p "$out/videos/$part"
    rm -f "$out/videos/$part"/*
    case "$part" in
      falls) src="$shared/data/falls/videos" ;;
      fillers) src="" ;;
      *) src="$shared/data/workout/videos/$part" ;;
    esac
    if [ -z "$src" ]; then
      ln -s "$OPENCV_DATA/vtest.avi" "$OPENCV_DATA/Megamind.avi" "$out/videos/$part/"
    elif [ "$max" -gt 0 ] && [ "$part" = falls ]; then
      local room
      for room in coffee_room_01 coffee_room_02 home_01; do
        find "$src" -name "${room}_*" | sort | head -n "$max" | xargs -I{} ln -s {} "$out/videos/$part/"
      done
    elif [ "$max" -gt 0 ]; then
      find "$src" -type f | sort | head -n "$max" | xargs -I{} ln -s {} "$out/videos/$part/"
    else
      find "$src" -type f | xargs -I{} ln -s {} "$out/videos/$part/"
    fi
    echo "-- pose features: $part ($(find "$out/videos/$part" -maxdepth 1 -type l | wc -l) videos)" >&2
    "${run[@]}" --videos "$out/videos/$part" --out "$out/$part"
    touch "$out/$part/.done"
  done
}
