#pragma once
// `actiond eval`: segmentation metrics (MS-TCN definitions) for precomputed per-frame scores, decoded
// offline (frame-wise argmax, or the file's own predictions) and online with the daemon's tracker.
//
// Score file format (as ../shared/data/gtea-scores/): {"classes": C, "bg_class": 0,
//   "splits": [[{"gt": [...], "pred": [...], "scores": [[c0..cC-1] per frame]}, ...], ...]}
//
// Thread-safety: pure functions.
#include "actiond/config/config.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace actiond::tools {

struct EvalOptions {
  std::string scores_file;
  double fps = 15.0;         // frame rate of the scores (for per-minute and seconds figures only)
  int lookahead_frames = 2;  // online decoding may look this many frames ahead
  int history_frames = 2;    // and average probabilities over this many past frames
  int confirm_frames = 2;    // tracker: frames a new label must hold
  int min_frames = 1;        // tracker: minimum published segment length, frames
  double threshold = 0.0;    // tracker: minimum label probability (0 = plain argmax of the average)
  bool json = false;
  std::string timeline;      // PNG: per video the ground truth above the online decoding (empty: none)
};

// {"file":..., "videos":N, "rows":[{"decoding":..., "acc":..., "edit":..., "f1@10":..., ...}]}.
// Throws std::runtime_error naming the file for unreadable or malformed input.
nlohmann::json evaluate_score_file(const EvalOptions& options);

// Prints a table (or the JSON with options.json). Returns the process exit status.
int run_eval(const EvalOptions& options, std::ostream& out);

}  // namespace actiond::tools
