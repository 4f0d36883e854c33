#include "actiond/tools/workbench_eval.hpp"

#include "eval_streams.hpp"

#include "actiond/tools/segmentation_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace actiond::tools {

using namespace actiond::daemon;  // the serving path's tracker and online decoder

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json tracker_json(const config::TrackerConfig& t) {
  return json{{"threshold", t.threshold},
              {"confirm_frames", t.confirm_frames},
              {"boundary_confirm_frames", t.boundary_confirm_frames},
              {"min_duration_s", t.min_duration_s},
              {"repetition_threshold", t.repetition_threshold},
              {"repetition_min_interval_s", t.repetition_min_interval_s},
              {"onset_threshold", t.onset_threshold},
              {"repetition_source", config::to_string(t.repetition_source)},
              {"repetition_smooth_frames", t.repetition_smooth_frames},
              {"repetition_hysteresis", t.repetition_hysteresis},
              {"repetition_min_amplitude", t.repetition_min_amplitude},
              {"repetition_lookback_s", t.repetition_lookback_s}};
}

// Grid search on the split for the segment settings (the objective's sum; onset 0 = off).
config::TrackerConfig tune_segments(const std::vector<EvalStream>& streams, const EvalContext& ctx, config::TrackerConfig t,
                                    WorkbenchEvalOptions::TuneObjective objective) {
  std::vector<config::TrackerConfig> grid;
  for (int confirm : {2, 3, 4, 5}) {  // one frame never opens or closes a segment
    for (int bconfirm : {2, confirm}) {
      for (double min_s : {0.3, 0.5, 0.8, 1.2}) {
        for (double thr : {0.3, 0.4, 0.5, 0.6, 0.7}) {
          for (double onset : {0.0, 0.5, 0.7, 0.9}) {
            config::TrackerConfig c = t;
            c.confirm_frames = confirm;
            c.boundary_confirm_frames = bconfirm;
            c.min_duration_s = min_s;
            c.threshold = thr;
            c.onset_threshold = onset;
            grid.push_back(c);
          }
        }
      }
    }
  }
  double best = -1e9;
  config::TrackerConfig chosen = t;
  for (const auto& c : grid) {
    const auto r = score_streams(streams, ctx, c, false);
    using Objective = WorkbenchEvalOptions::TuneObjective;
    const double figures = r.tracked.f1_50 + r.tracked.edit + (objective == Objective::f1_edit ? 0.0 : r.tracked.accuracy);
    const double v = objective == Objective::alarms ? 1000.0 * (r.alarms_found - r.false_alarms) + figures : figures;
    if (v > best + 1e-9) {
      best = v;
      chosen = c;
    }
  }
  return chosen;
}

// Repetitions: the model's output (peak threshold, spacing) and, for pose segmenters, the pose signal.
std::vector<config::TrackerConfig> repetition_grid(const EvalContext& ctx, const config::TrackerConfig& chosen) {
  std::vector<config::TrackerConfig> counting;
  for (double thr : {0.2, 0.3, 0.4, 0.5, 0.6, 0.7}) {
    for (double interval : {0.3, 0.5, 0.7, 0.9}) {
      config::TrackerConfig c = chosen;
      c.repetition_source = config::RepetitionSource::model;
      c.repetition_threshold = thr;
      c.repetition_min_interval_s = interval;
      if (ctx.repetitions) counting.push_back(c);
    }
  }
  for (int smooth : {3, 5, 7}) {
    for (double hyst : {0.15, 0.2, 0.25, 0.3, 0.4}) {
      for (double amplitude : {0.0, 0.2, 0.4}) {
        for (double lookback : {0.0, 0.5, 1.0}) {
          config::TrackerConfig c = chosen;
          c.repetition_source = config::RepetitionSource::pose;
          c.repetition_smooth_frames = smooth;
          c.repetition_hysteresis = hyst;
          c.repetition_min_amplitude = amplitude;
          c.repetition_lookback_s = lookback;
          if (ctx.pose) counting.push_back(c);
        }
      }
    }
  }
  return counting;
}

// The repetition settings of `grid` that count best on `streams` (off-by-one accuracy - normalised
// error, F1@50 breaking ties).
config::TrackerConfig tune_repetitions(const std::vector<EvalStream>& streams, const EvalContext& ctx,
                                       const std::vector<config::TrackerConfig>& grid, const config::TrackerConfig& chosen) {
  double best = -1e9;
  config::TrackerConfig with_reps = chosen;
  for (const auto& c : grid) {
    const auto r = score_streams(streams, ctx, c, false);
    const double v = 100.0 * (r.reps.obo - r.reps.mnae) + 0.01 * r.tracked.f1_50;
    if (v > best + 1e-9) {
      best = v;
      with_reps = c;
    }
  }
  return with_reps;
}

// What `tracker_source` says of settings chosen by --tune.
std::string tuned_source(const WorkbenchEvalOptions& opt) {
  using Objective = WorkbenchEvalOptions::TuneObjective;
  std::string s = opt.tune_objective == Objective::f1_edit  ? "tuned on this split (F1@50 + Edit)"
                  : opt.tune_objective == Objective::alarms ? "tuned on this split (alarms found - false alarms)"
                                                            : "tuned on this split (F1@50 + Edit + Acc)";
  if (!opt.tune_repetitions_on.empty()) s += ", repetitions on " + opt.tune_repetitions_on;
  return s;
}

}  // namespace

json evaluate_workbench(const WorkbenchEvalOptions& opt) {
  EvalContext ctx;
  auto seg = load_context(opt, ctx);
  const auto streams = load_streams(opt, ctx, *seg);
  config::TrackerConfig settings = config::with_model_defaults(opt.tracker, seg->manifest().decoding);
  if (opt.tune) {
    settings = tune_segments(streams, ctx, settings, opt.tune_objective);
    if (ctx.counts() && ctx.pieces) {
      const auto grid = repetition_grid(ctx, settings);
      if (opt.tune_repetitions_on.empty()) {
        settings = tune_repetitions(streams, ctx, grid, settings);
      } else {
        WorkbenchEvalOptions on = opt;
        on.split = opt.tune_repetitions_on;
        settings = tune_repetitions(load_streams(on, ctx, *seg), ctx, grid, settings);
      }
    }
  }
  const StreamScores s = score_streams(streams, ctx, settings, true);
  json result{{"world", opt.world},
              {"split", opt.split},
              {"videos", static_cast<int>(streams.size())},
              {"segmenter", opt.segmenter},
              {"window", ctx.window},
              {"lookahead_frames", ctx.lookahead},
              {"lookahead_s", ctx.lookahead / opt.fps},
              {"tracker", tracker_json(settings)},
              {"tracker_source", opt.tune ? tuned_source(opt)
                                          : (seg->manifest().decoding.from_file.empty() ? "options"
                                                                                        : "segmenter manifest decoding")},
              {"rows", json::array()}};
  result["rows"].push_back(metrics_row("offline: whole video as one window, argmax", s.whole, false));
  result["rows"].push_back(metrics_row("offline: whole video as one window + segment tracker", s.whole_tracked, false));
  result["rows"].push_back(metrics_row("online: daemon windows, frame-wise argmax", s.framewise, false));
  result["rows"].push_back(metrics_row("online: daemon windows + segment tracker", s.tracked, true));
  result["per_class_f1@50"] = s.per_class_f1_50;
  result["alarms"] = {{"streams_with_events", s.alarm_streams}, {"found", s.alarms_found}, {"false", s.false_alarms}};
  result["confusion"] = {{"labels", ctx.names}, {"rows_truth_columns_predicted", s.confusion}};
  if (ctx.pieces) {
    auto per_hour = [](int n, double seconds) { return seconds > 0 ? std::round(n * 3600.0 / seconds * 10.0) / 10.0 : 0.0; };
    result["non_exercise"] = {{"seconds", std::round(s.filler_seconds * 10.0) / 10.0},
                              {"false_segments", s.false_segments},
                              {"false_segments_per_hour", per_hour(s.false_segments, s.filler_seconds)},
                              {"by_source", json::object()}};
    for (const auto& [source, fs] : s.false_by_source) {
      result["non_exercise"]["by_source"][source] = {{"seconds", std::round(fs.second * 10.0) / 10.0},
                                                     {"false_segments", fs.first},
                                                     {"false_segments_per_hour", per_hour(fs.first, fs.second)}};
    }
  }
  if (ctx.counts() && ctx.pieces) result["repetitions"] = repetition_json(s.reps);
  if (opt.tune) result["tuned"] = tracker_json(settings);
  if (!opt.decisions.empty()) {
    std::ofstream f(opt.decisions);
    f << decisions_json(streams, ctx, settings).dump() << "\n";
    if (!f) throw std::runtime_error(opt.decisions + ": cannot write file");
    result["decisions"] = opt.decisions;
  }
  return result;
}

int run_workbench_eval(const WorkbenchEvalOptions& opt, std::ostream& out) {
  const json r = evaluate_workbench(opt);
  if (opt.json) {
    out << r.dump(2) << "\n";
    return 0;
  }
  out << r["world"].get<std::string>() << " split " << opt.split << " (" << r["videos"] << " videos), window "
      << r["window"] << ", look-ahead " << r["lookahead_frames"] << " frames (" << r["lookahead_s"] << " s)\n";
  out << "tracker (" << r["tracker_source"].get<std::string>() << "): " << r["tracker"].dump() << "\n";
  print_metrics_table(r["rows"], out);
  out << "per-class F1@50: " << r["per_class_f1@50"].dump() << "\n";
  out << "alarms (non-background runs): " << r["alarms"].dump() << "\n";
  if (r.contains("non_exercise")) out << "non-exercise footage: " << r["non_exercise"].dump() << "\n";
  if (r.contains("repetitions")) out << "repetitions: " << r["repetitions"].dump() << "\n";
  return 0;
}

}  // namespace actiond::tools
