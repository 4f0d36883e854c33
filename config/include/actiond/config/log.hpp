#pragma once
// Logging: one named spdlog logger per module ("pipeline", "loop", "publisher", "control", ...), all
// writing through the same sink: stderr, or journald under systemd (below).
//
//   config::setup_logging();                      // once, in main, before anything logs
//   config::module_log("publisher").warn("...");  // line: "... warning [publisher] ..."
//
// Under systemd (JOURNAL_STREAM set) each line goes to journald natively with its priority and the
// fields ACTIOND_MODULE (the logger) and ACTIOND_CAMERA (the camera a message names as "camera ID:"),
// so `journalctl ACTIOND_CAMERA=door` works; a line journald does not take goes to stderr with its
// syslog priority prefix ("<4>" for a warning).
// The level is global: spdlog::set_level() applies to every module logger.
//
// Thread-safety: module_log() and the loggers may be used from any thread.
#include <spdlog/spdlog.h>

#include <string>

namespace actiond::config {

void setup_logging();
spdlog::logger& module_log(const std::string& name);

}  // namespace actiond::config
