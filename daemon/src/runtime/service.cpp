#include "actiond/daemon/runtime/service.hpp"

#include "actiond/config/config.hpp"
#include "actiond/config/log.hpp"
#include "actiond/daemon/runtime/daemon.hpp"

#include <spdlog/spdlog.h>

#include <malloc.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <csignal>
#include <iostream>

namespace actiond::daemon {

namespace {

// Heap policy for a long-running video process. Measured (docs/BENCHMARKS.md): with glibc's defaults
// the memory in use stayed flat while memory held free by malloc grew, so RSS crept up. Fewer arenas,
// and free memory handed back to the kernel at every tick (malloc_trim). A fixed low mmap threshold
// also kept RSS flat but cost ~40 % more CPU (LibTorch's large activations mmapped and faulted in on
// every call), so glibc's dynamic threshold stays.
void tune_heap() { mallopt(M_ARENA_MAX, 4); }

}  // namespace

int run_service(const std::string& config_dir, const std::string& model_dir, const std::string& log_level,
                bool check_only) {
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  config::LoadOptions opts;
  opts.model_dir_override = model_dir;
  auto cfg = config::load_config(config_dir, opts);
  spdlog::set_level(spdlog::level::from_str(log_level.empty() ? cfg->daemon.log_level : log_level));
  if (check_only) {
    check_config(*cfg);
    std::cout << config_dir << ": configuration is valid (" << cfg->cameras.size() << " camera(s))\n";
    return 0;
  }
  tune_heap();
  Daemon daemon(cfg);
  daemon.start();
  // systemd (Type=notify): READY once sockets are bound and cameras started; WATCHDOG=1 only while
  // the inference loop is alive; STATUS lines; RELOADING/STOPPING around reloads and shutdown.
  std::uint64_t watchdog_usec = 0;
  const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
  const auto tick = watchdog ? std::chrono::microseconds(watchdog_usec / 2) : std::chrono::microseconds(5000000);
  auto status_line = [&daemon] {
    const auto h = daemon.health();
    return "STATUS=" + std::to_string(h.running) + "/" + std::to_string(h.cameras) +
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
  daemon.stop(config::EndReason::shutdown);
  return 0;
}


}  // namespace actiond::daemon
