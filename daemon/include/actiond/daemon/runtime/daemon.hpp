#pragma once
// Daemon: wires a loaded Config into running parts and owns them.
//
//   Daemon d(config);   // checks camera URIs, loads and cross-checks models, binds the PUB socket
//   d.start();          // starts the inference loop, then every camera's pipeline
//   ...
//   d.reload();         // applies a changed configuration directory (see reload())
//   d.stop();           // stops intake, ends open segments with "shutdown", flushes events
//
// Construction throws (config::ConfigError, models::ModelError, std::runtime_error) with a message
// naming the file, model or endpoint at fault; nothing is left running in that case.
// Thread-safety: start()/stop() from one controlling thread (it also drives the cluster manager);
// reload() and health() from any. What changes the daemon's state (start, reload, stop, cluster
// takes and releases) runs as a command on its supervisor thread, one at a time; readers take the
// immutable view it publishes after each. The rest of the work runs on the daemon's own threads
// (publisher, inference loop, sinks, one supervisor and GStreamer threads per camera).
#include "actiond/config/config.hpp"
#include "actiond/daemon/runtime/inference_loop.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace actiond::daemon {

// What a reload did (or why it was refused: then nothing changed).
struct ReloadResult {
  bool ok = false;
  std::string error;
  std::vector<std::string> added, removed, changed, unchanged;
  std::vector<std::string> restart_required;  // actiond.json sections that changed but need a restart
  std::string model;                          // promote/rollback: the model changed
  nlohmann::json to_json() const;
};

// What GET /healthz reports (and what gates the systemd watchdog).
struct Health {
  bool healthy = false;     // loop alive and every camera running or in an allowed state
  bool loop_alive = false;  // the inference loop iterated recently
  std::size_t cameras = 0;  // configured
  std::size_t running = 0;  // of them, in state running
  nlohmann::json detail;    // /healthz's body
};

class Daemon {
 public:
  explicit Daemon(std::shared_ptr<const config::Config> config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void start();
  void stop(config::EndReason reason = config::EndReason::shutdown);
  // Re-reads the configuration directory and applies the difference: added cameras start, removed
  // ones stop (open segments end "reconfigured"), changed ones restart (seq continues, epoch +1),
  // untouched ones keep running. An invalid configuration is refused and changes nothing.
  // Called by SIGHUP (main) and the control socket's `reload`; the cameras/ watcher posts the same
  // command without waiting. Returns when the reload is applied or refused.
  ReloadResult reload();
  // Model changes (docs/TRAINING.md): `promote` installs `candidate` (a file inside the model
  // directory, of the same kind and input as the model) in place of actiond.json /models/`model`,
  // keeping the file it replaces as <file>.previous, and reloads: cameras using the model restart
  // with it (segments end "reconfigured"; seq continues). `rollback` swaps the model and its
  // previous file back the same way. A change the reload refuses is undone. Thread-safe.
  ReloadResult promote(const std::string& model, const std::filesystem::path& candidate);
  ReloadResult rollback(const std::string& model);
  // Shadow mode: tries `candidate` (a segmenter file inside the model directory) on a running
  // whole-frame camera beside its own model; its events go to "<camera>/shadow.*" only (never
  // journaled, never to sinks). An empty candidate stops it. {"ok": true, ...} or {"ok": false,
  // "error"}. Thread-safe.
  nlohmann::json shadow(const std::string& camera, const std::filesystem::path& candidate);
  // The models of actiond.json: name, path, kind, manifest name and version, labels, the cameras
  // using it, and the previous file kept (its version), if any. Thread-safe.
  nlohmann::json models() const;

  const std::string& publish_endpoint() const;
  const std::string& control_endpoint() const;
  int metrics_port() const;  // 0 when metrics are disabled
  Health health() const;     // thread-safe

 private:
  void start_from_journal(const config::CameraConfig& cam);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Checks everything that can be checked without starting: the config, the camera URIs and the
// models (loaded and cross-checked). Throws like the Daemon constructor.
void check_config(const config::Config& config);

}  // namespace actiond::daemon
