#include "actiond/tools/tools.hpp"

#include "actiond/tools/eval_command.hpp"
#include "actiond/tools/extract_command.hpp"
#include "actiond/tools/keygen.hpp"
#include "actiond/tools/probe_command.hpp"
#include "actiond/tools/workbench_eval.hpp"
#include "actiond/tools/world_command.hpp"

#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <stdexcept>
#include <string>

namespace actiond::tools {

struct Tools::Impl {
  EvalOptions eval;
  WorkbenchEvalOptions workbench;
  WorldOptions world;
  ExtractOptions extract;
  ProbeOptions probe;
  std::string key_prefix;
  std::string tune_objective = "f1+edit+acc";
  CLI::App* eval_cmd = nullptr;
  CLI::App* world_cmd = nullptr;
  CLI::App* extract_cmd = nullptr;
  CLI::App* keygen_cmd = nullptr;
  CLI::App* probe_cmd = nullptr;

  void add_eval(CLI::App& app) {
    auto& wb = workbench;
    eval_cmd = app.add_subcommand("eval", "segmentation metrics (MS-TCN definitions) of per-frame score files, "
                                          "decoded offline and online with the daemon's tracker");
    eval_cmd->add_option("--scores", eval.scores_file, "score file (format of ../shared/data/gtea-scores)");
    eval_cmd->add_option("--workbench", wb.world, "benchmark root (with --features and --segmenter)");
    eval_cmd->add_option("--features", wb.features, "output of actiond extract --model");
    eval_cmd->add_option("--segmenter", wb.segmenter, "segmenter TorchScript file");
    eval_cmd->add_option("--split", wb.split, "workbench: split(s) to score or tune on, several joined by + (train+val)")
        ->capture_default_str();
    eval_cmd->add_option("--video-fps", wb.video_fps, "workbench: frame rate of groundTruth")->capture_default_str();
    eval_cmd->add_option("--analysis-fps", wb.fps, "workbench: frame rate of the features")->capture_default_str();
    eval_cmd->add_option("--boundary-confirm-frames", wb.tracker.boundary_confirm_frames,
                         "workbench: confirmation frames for a change at a boundary")->capture_default_str();
    eval_cmd->add_option("--fps", eval.fps, "frame rate of the scores (per-minute and latency figures)")->capture_default_str();
    eval_cmd->add_option("--lookahead-frames", eval.lookahead_frames, "online look-ahead")->capture_default_str();
    eval_cmd->add_option("--history-frames", eval.history_frames, "online averaging over past frames")->capture_default_str();
    eval_cmd->add_option("--confirm-frames", eval.confirm_frames, "tracker confirmation frames")->capture_default_str();
    eval_cmd->add_option("--min-frames", eval.min_frames, "tracker minimum segment length")->capture_default_str();
    eval_cmd->add_option("--threshold", eval.threshold, "tracker minimum label probability")->capture_default_str();
    eval_cmd->add_option("--timeline", eval.timeline, "write a PNG: per video the ground truth above the online decoding (--scores)");
    eval_cmd->add_flag("--tune", wb.tune, "workbench: choose the tracker settings on --split (grid search) and report them");
    eval_cmd->add_option("--tune-objective", tune_objective,
                         "workbench, with --tune: what the segment settings maximise: f1+edit+acc, f1+edit "
                         "(before 2026-12-06), or alarms (events found - false alarms; e.g. falls)")
        ->check(CLI::IsMember({"f1+edit+acc", "f1+edit", "alarms"}))
        ->capture_default_str();
    eval_cmd->add_option("--tune-repetitions-on", wb.tune_repetitions_on,
                         "workbench, with --tune: choose the repetition settings on these split(s) (e.g. train+val; "
                         "the segment settings stay chosen on --split)");
    eval_cmd->add_option("--decisions", wb.decisions,
                         "workbench: write each stream's online decisions (label and the frame it was decided at, "
                         "per analysed frame) and its truth to this JSON file");
    eval_cmd->add_flag("--json", eval.json, "print JSON instead of a table");
  }

  void add_world(CLI::App& app) {
    world_cmd = app.add_subcommand("world", "write the synthetic workbench benchmark (videos, labels, splits)");
    world_cmd->add_option("--out", world.out, "output directory")->required();
    world_cmd->add_option("--videos", world.videos, "number of videos")->capture_default_str();
    world_cmd->add_option("--seed", world.seed, "seed (the same seed writes the same benchmark)")->capture_default_str();
    world_cmd->add_option("--activities", world.activities, "activities per video")->capture_default_str();
    world_cmd->add_option("--width", world.width)->capture_default_str();
    world_cmd->add_option("--height", world.height)->capture_default_str();
    world_cmd->add_option("--fps", world.fps)->capture_default_str();
    world_cmd->add_option("--test-fraction", world.test_fraction, "share of videos in the test split")->capture_default_str();
    world_cmd->add_option("--val-fraction", world.val_fraction,
                          "share of videos held out of training for choosing settings (the val split)")
        ->capture_default_str();
  }

  void add_extract(CLI::App& app) {
    extract_cmd = app.add_subcommand("extract", "features (and/or model-input frames) of videos through the "
                                                "daemon's own decode + resize + TorchScript path");
    extract_cmd->add_option("--model", extract.model, "backbone or pose TorchScript file");
    extract_cmd->add_option("--videos", extract.videos, "directory of videos, or one video")->required();
    extract_cmd->add_option("--out", extract.out, "output directory")->required();
    extract_cmd->add_option("--fps", extract.fps, "analysis frames per second")->capture_default_str();
    extract_cmd->add_option("--frames", extract.frames_size, "also write the model-input frames at WxH (uint8 .npy)");
    extract_cmd->add_option("--batch", extract.batch)->capture_default_str();
    extract_cmd->add_option("--threads", extract.threads, "LibTorch intra-op threads")->capture_default_str();
    extract_cmd->add_option("--decoder", extract.decoder, "H.264 decode path, as the camera key")
        ->transform(CLI::CheckedTransformer(std::map<std::string, config::DecoderPath>{
            {"gstreamer", config::DecoderPath::gstreamer}, {"analysis", config::DecoderPath::analysis}}))
        ->default_str("gstreamer");
    auto& p = extract.persons;
    extract_cmd->add_flag("--follow", p.follow, "pose: single-person model reads a crop following the person");
    extract_cmd->add_option("--birth-frames", p.birth_frames, "pose: persons.birth_frames")->capture_default_str();
    extract_cmd->add_option("--death-frames", p.death_frames, "pose: persons.death_frames")->capture_default_str();
    extract_cmd->add_option("--min-score", p.min_score, "pose: persons.min_score")->capture_default_str();
    extract_cmd->add_option("--min-keypoint-score", p.min_keypoint_score, "pose: persons.min_keypoint_score")
        ->capture_default_str();
  }

  void add_probe(CLI::App& app) {
    probe_cmd = app.add_subcommand("probe", "frame rate, frame count, size and codec of videos, or why one cannot be "
                                            "read (GStreamer's discoverer)");
    probe_cmd->add_option("--videos", probe.videos, "directory of videos, or one video")->required();
    probe_cmd->add_flag("--json", probe.json, "one JSON object per video and line");
    probe_cmd->add_option("--timeout", probe.timeout_s, "seconds per video")->capture_default_str();
  }

  void add_keygen(CLI::App& app) {
    keygen_cmd = app.add_subcommand("keygen", "write a CURVE key pair (PREFIX.key secret, PREFIX.pub public)");
    keygen_cmd->add_option("--out", key_prefix, "path prefix of the two files")->required();
  }
};

Tools::Tools(CLI::App& app) : impl_(std::make_unique<Impl>()) {
  impl_->add_eval(app);
  impl_->add_world(app);
  impl_->add_extract(app);
  impl_->add_keygen(app);
  impl_->add_probe(app);
}

Tools::~Tools() = default;

std::optional<int> Tools::run() {
  auto& t = *impl_;
  if (t.eval_cmd->parsed()) {
    if (!t.workbench.world.empty()) {
      t.workbench.json = t.eval.json;
      using Objective = WorkbenchEvalOptions::TuneObjective;
      t.workbench.tune_objective = t.tune_objective == "f1+edit"  ? Objective::f1_edit
                                   : t.tune_objective == "alarms" ? Objective::alarms
                                                                  : Objective::f1_edit_acc;
      return run_workbench_eval(t.workbench, std::cout);
    }
    if (t.eval.scores_file.empty()) throw std::runtime_error("eval needs --scores FILE or --workbench DIR");
    return run_eval(t.eval, std::cout);
  }
  if (t.keygen_cmd->parsed()) return run_keygen(t.key_prefix, std::cout);
  if (t.probe_cmd->parsed()) return run_probe(t.probe, std::cout, std::cerr);
  if (t.world_cmd->parsed()) return run_world(t.world, std::cerr);
  if (t.extract_cmd->parsed()) {
    spdlog::set_level(spdlog::level::warn);
    return run_extract(t.extract, std::cerr);
  }
  return std::nullopt;
}

}  // namespace actiond::tools
