// actiond: the daemon's entry point. Parses the command line, then either runs the daemon until a
// signal or runs one of the offline tools (`actiond eval ...`, registered by actiond::tools).
#include "actiond/config/config.hpp"
#include "actiond/config/log.hpp"
#include "actiond/daemon/runtime/daemon.hpp"
#include "actiond/tools/tools.hpp"

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
  actiond::tools::Tools tools(app);
  CLI11_PARSE(app, argc, argv);

  actiond::config::setup_logging();
  try {
    if (auto rc = tools.run()) return *rc;
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
