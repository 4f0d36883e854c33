#pragma once
// The service's life on the main thread: load and validate the configuration, run a Daemon, talk to
// systemd (READY, WATCHDOG only while the inference loop is alive, STATUS, RELOADING, STOPPING), take
// SIGHUP as a reload and SIGTERM/SIGINT as a clean shutdown.
//
// Thread-safety: call once, from the main thread, before any other thread exists (it blocks the
// signals every later thread inherits).
#include <string>

namespace actiond::daemon {

// Returns the process exit status. With `check_only`, validates the configuration and the models,
// prints one line and returns 0. Throws (config, model, socket errors) with a message naming the
// file, model or endpoint at fault.
int run_service(const std::string& config_dir, const std::string& model_dir, const std::string& log_level,
                bool check_only);

}  // namespace actiond::daemon
