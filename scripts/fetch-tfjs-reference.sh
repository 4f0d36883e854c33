#!/usr/bin/env bash
# TensorFlow.js (tests/reference/tfjs), the reference of the pose import fidelity test: see
# scripts/fetch-npm-reference.sh. Prints the directory (ACTIOND_TFJS_DIR for run_graph_model.mjs).
exec "$(dirname "$0")/fetch-npm-reference.sh" tfjs
