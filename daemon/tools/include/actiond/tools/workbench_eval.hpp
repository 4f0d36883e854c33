#pragma once
// `actiond eval --workbench`: runs a segmenter over extracted features of a benchmark split exactly as
// the daemon does (windows of the manifest's size ending `lookahead` frames after the decided frame,
// then the daemon's SegmentTracker), and reports the MS-TCN metrics against the ground truth.
//
// Streams with `S.track.npy` (pose features of tracked people) are decided per person as in the
// daemon: a window never reaches into another person's frames, each person's tracker starts afresh,
// and frames without a person are background. The tracker settings are the options', overlaid by
// the segmenter manifest's `decoding` section; `tune` instead chooses them on
// the split by a grid search and reports the choice.
//
// With `world/pieces.json` (models/train/workout.py) and a segmenter with a repetition output it also
// reports repetition counting per video (off-by-one accuracy, mean normalised absolute error), the
// latency from a true repetition start to its event, per-class F1, the frame confusion matrix and false
// segments on the non-exercise stretches.
//
// Thread-safety: run from one thread.
#include "actiond/config/config.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace actiond::tools {

struct WorkbenchEvalOptions {
  std::string world;       // dataset root (groundTruth/, mapping.txt, splits/)
  std::string features;    // output of actiond extract --model
  std::string segmenter;   // TorchScript segmenter
  std::string split = "test";
  double video_fps = 25.0; // frame rate of the ground truth
  double fps = 5.0;        // analysis rate of the features
  // Tracker settings for a segmenter without a manifest `decoding` section: the demo camera's file
  // set these until its models carried settings chosen on held-out data (2026-12-06).
  config::TrackerConfig tracker = [] {
    config::TrackerConfig t;
    t.threshold = 0.5;
    t.confirm_frames = 2;
    t.boundary_confirm_frames = 1;
    t.min_duration_s = 0.6;
    t.boundary_threshold = 0.5;
    return t;
  }();
  bool tune = false;       // choose the tracker settings on this split (grid search)
  // What the segment settings' grid search maximises: F1@50 + Edit + Acc (all three MS-TCN figures:
  // Acc is the only one that sees how much of each action its segment covers), or F1@50 + Edit
  // (the objective before 2026-12-06; the MSR Action3D figures of docs/RESULTS.md were chosen so), or
  // alarms: streams whose event an alarm found minus false alarms (an alarm: published non-background
  // frames back to back; e.g. a fall), F1@50 + Edit + Acc breaking ties.
  enum class TuneObjective { f1_edit_acc, f1_edit, alarms };
  TuneObjective tune_objective = TuneObjective::f1_edit_acc;
  std::string tune_repetitions_on;  // with tune: choose the repetition settings on these splits instead
                                    // (a training-free counter may use the training streams)
  // With a path: the online decisions of every stream of the split, for figures computed outside
  // (e.g. fall alarms: models/train/fall_metrics.py): {"fps", "labels", "streams": {name: {"truth",
  // "labels", "decided_at"}}}, frames in analysed frames, with the settings the figures use.
  std::string decisions;
  bool json = false;
};

nlohmann::json evaluate_workbench(const WorkbenchEvalOptions& options);
int run_workbench_eval(const WorkbenchEvalOptions& options, std::ostream& out);

}  // namespace actiond::tools
