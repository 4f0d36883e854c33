#pragma once
// Daemon: wires a loaded Config into running parts and owns them.
//
//   Daemon d(config);   // checks camera URIs, loads and cross-checks models, binds the PUB socket
//   d.start();          // starts the inference loop, then every camera's pipeline
//   ...
//   d.stop();           // stops intake, ends open segments with "shutdown", flushes events
//
// Construction throws (config::ConfigError, models::ModelError, std::runtime_error) with a message
// naming the file, model or endpoint at fault; nothing is left running in that case.
// Thread-safety: start()/stop() from one controlling thread; the rest of the work runs on the
// daemon's own threads (publisher, inference loop, one bus thread and GStreamer threads per camera).
#include "actiond/config/config.hpp"

#include <memory>
#include <string>

namespace actiond::daemon {

class Daemon {
 public:
  explicit Daemon(std::shared_ptr<const config::Config> config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void start();
  void stop(const std::string& reason = "shutdown");

  const std::string& publish_endpoint() const;
  const std::string& control_endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks everything that can be checked without starting: the config, the camera URIs and the
// models (loaded and cross-checked). Throws like the Daemon constructor.
void check_config(const config::Config& config);

}  // namespace actiond::daemon
