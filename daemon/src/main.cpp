// actiond: the daemon's entry point. Parses the command line, then either runs the daemon until a
// signal or runs one of its tools (`actiond eval ...`).
#include "actiond/config/config.hpp"
#include "actiond/config/log.hpp"
#include "actiond/daemon/daemon.hpp"
#include "actiond/daemon/eval_command.hpp"
#include "actiond/daemon/extract_command.hpp"
#include "actiond/daemon/keygen.hpp"
#include "actiond/daemon/workbench_eval.hpp"
#include "actiond/daemon/world_command.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>
#include <iostream>

namespace {

// Heap policy for a long-running video process. Measured (docs/BENCHMARKS.md): with glibc's defaults
// the memory in use stayed flat while memory held free by malloc grew, so RSS crept up. Fewer arenas,
// and free memory handed back to the kernel at every tick (malloc_trim). A fixed low mmap threshold
// also kept RSS flat but cost ~40 % more CPU (LibTorch's large activations mmapped and faulted in on
// every call), so glibc's dynamic threshold stays.
void tune_heap() { mallopt(M_ARENA_MAX, 4); }

int run_daemon(const std::string& config_dir, const std::string& model_dir, const std::string& log_level,
               bool check_only) {
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  actiond::config::LoadOptions opts;
  opts.model_dir_override = model_dir;
  auto cfg = actiond::config::load_config(config_dir, opts);
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? cfg->daemon.log_level : log_level));
  if (check_only) {
    actiond::daemon::check_config(*cfg);
    std::cout << config_dir << ": configuration is valid (" << cfg->cameras.size() << " camera(s))\n";
    return 0;
  }
  tune_heap();
  actiond::daemon::Daemon daemon(cfg);
  daemon.start();
  // systemd (Type=notify): READY once sockets are bound and cameras started; WATCHDOG=1 only while
  // the inference loop is alive; STATUS lines; RELOADING/STOPPING around reloads and shutdown.
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  const auto tick = watchdog ? std::chrono::microseconds(watchdog_usec / 2) : std::chrono::microseconds(5000000);
  auto status_line = [&daemon] {
    const auto h = daemon.health();
    int running = 0;
    for (const auto& [id, c] : h.detail["cameras"].items()) running += c["state"] == "running" ? 1 : 0;
    return "STATUS=" + std::to_string(running) + "/" + std::to_string(h.detail["cameras"].size()) +
           " cameras running" + (h.healthy ? "" : " (unhealthy: see /healthz)");
  };
  sd_notify(0, ("READY=1\n" + status_line()).c_str());
  for (;;) {
    timespec timeout{static_cast<time_t>(tick.count() / 1000000), static_cast<long>(tick.count() % 1000000) * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig < 0) {  // tick
      const bool alive = daemon.health().loop_alive;
      if (watchdog && alive) sd_notify(0, "WATCHDOG=1");
      if (watchdog && !alive) spdlog::error("inference loop stuck: not feeding the systemd watchdog");
      sd_notify(0, status_line().c_str());
      malloc_trim(0);
      continue;
    }
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading the configuration");
      sd_notify(0, "RELOADING=1");
      daemon.reload();  // logs what changed, or why it was refused
      sd_notify(0, ("READY=1\n" + status_line()).c_str());
      continue;
    }
    spdlog::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  sd_notify(0, "STOPPING=1\nSTATUS=draining: closing open segments and flushing events");
  daemon.stop("shutdown");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"actiond: real-time video action analytics daemon"};
  std::string config_dir;
  std::string model_dir;
  std::string log_level;
  bool check_only = false;
  app.add_option("-c,--config", config_dir, "configuration directory (actiond.json + cameras/*.json)");
  app.add_option("--model-dir", model_dir, "directory model paths are relative to (overrides actiond.json model_dir)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error (overrides actiond.json log.level)");
  app.add_flag("--check-config", check_only, "validate the configuration and models, then exit 0 (valid) or 1");

  actiond::daemon::EvalOptions eval;
  auto* eval_cmd = app.add_subcommand("eval", "segmentation metrics (MS-TCN definitions) of per-frame score files, "
                                              "decoded offline and online with the daemon's tracker");
  actiond::daemon::WorkbenchEvalOptions wb;
  eval_cmd->add_option("--scores", eval.scores_file, "score file (format of ../shared/data/gtea-scores)");
  eval_cmd->add_option("--workbench", wb.world, "benchmark root (with --features and --segmenter)");
  eval_cmd->add_option("--features", wb.features, "output of actiond extract --model");
  eval_cmd->add_option("--segmenter", wb.segmenter, "segmenter TorchScript file");
  eval_cmd->add_option("--split", wb.split)->capture_default_str();
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
  eval_cmd->add_flag("--json", eval.json, "print JSON instead of a table");
  actiond::daemon::WorldOptions world;
  auto* world_cmd = app.add_subcommand("world", "write the synthetic workbench benchmark (videos, labels, splits)");
  world_cmd->add_option("--out", world.out, "output directory")->required();
  world_cmd->add_option("--videos", world.videos, "number of videos")->capture_default_str();
  world_cmd->add_option("--seed", world.seed, "seed (the same seed writes the same benchmark)")->capture_default_str();
  world_cmd->add_option("--activities", world.activities, "activities per video")->capture_default_str();
  world_cmd->add_option("--width", world.width)->capture_default_str();
  world_cmd->add_option("--height", world.height)->capture_default_str();
  world_cmd->add_option("--fps", world.fps)->capture_default_str();
  world_cmd->add_option("--test-fraction", world.test_fraction, "share of videos in the test split")->capture_default_str();
  actiond::daemon::ExtractOptions extract;
  auto* extract_cmd = app.add_subcommand("extract", "features (and/or model-input frames) of videos through the "
                                                    "daemon's own decode + resize + TorchScript path");
  extract_cmd->add_option("--model", extract.model, "backbone TorchScript file");
  extract_cmd->add_option("--videos", extract.videos, "directory of videos, or one video")->required();
  extract_cmd->add_option("--out", extract.out, "output directory")->required();
  extract_cmd->add_option("--fps", extract.fps, "analysis frames per second")->capture_default_str();
  extract_cmd->add_option("--frames", extract.frames_size, "also write the model-input frames at WxH (uint8 .npy)");
  extract_cmd->add_option("--batch", extract.batch)->capture_default_str();
  extract_cmd->add_option("--threads", extract.threads, "LibTorch intra-op threads")->capture_default_str();
  std::string key_prefix;
  auto* keygen_cmd = app.add_subcommand("keygen", "write a CURVE key pair (PREFIX.key secret, PREFIX.pub public)");
  keygen_cmd->add_option("--out", key_prefix, "path prefix of the two files")->required();
  CLI11_PARSE(app, argc, argv);

  actiond::config::setup_logging();
  try {
    if (app.got_subcommand(eval_cmd)) {
      if (!wb.world.empty()) {
        wb.json = eval.json;
        return actiond::daemon::run_workbench_eval(wb, std::cout);
      }
      if (eval.scores_file.empty()) throw std::runtime_error("eval needs --scores FILE or --workbench DIR");
      return actiond::daemon::run_eval(eval, std::cout);
    }
    if (app.got_subcommand(keygen_cmd)) return actiond::daemon::run_keygen(key_prefix, std::cout);
    if (app.got_subcommand(world_cmd)) return actiond::daemon::run_world(world, std::cerr);
    if (app.got_subcommand(extract_cmd)) {
      spdlog::set_level(spdlog::level::warn);
      return actiond::daemon::run_extract(extract, std::cerr);
    }
    if (config_dir.empty()) {
      std::cerr << "actiond: --config DIR is required (see --help)\n";
      return 1;
    }
    return run_daemon(config_dir, model_dir, log_level, check_only);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << "actiond: " << e.what() << "\n";
    return 1;
  }
}
