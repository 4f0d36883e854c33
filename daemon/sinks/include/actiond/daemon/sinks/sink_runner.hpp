#pragma once
// SinkRunner: one configured sink. Its thread follows every camera's journal from the sink's own
// cursor (DIR/.sinks/<sink>/<camera>.cursor: the next seq to deliver, replaced atomically after the
// broker acknowledged), sends each camera's events in seq order through its SinkClient, and on a
// failure disconnects and reconnects with backoff (backoff_min_s doubling to backoff_max_s, with
// jitter). Analysis never waits for it: a slow or absent broker only makes it fall behind on the
// journal, whose retention keeps what it has not delivered (RetentionFloors).
//
// Thread-safety: status() from any thread; the rest belongs to the owner (constructor/destructor).
#include "actiond/config/sinks.hpp"
#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/sinks/sink.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>

namespace actiond::daemon {

struct SinkStatus {
  std::string name;
  std::string type;
  bool connected = false;
  std::uint64_t delivered = 0;   // events the broker acknowledged (this run)
  std::uint64_t skipped = 0;     // events the filter or format left out (cursor moved past them)
  std::uint64_t backlog = 0;     // events journaled but not yet delivered, all cameras
  std::uint64_t reconnects = 0;  // connections after the first
  std::uint64_t failures = 0;    // failed connects and deliveries
  std::uint64_t lost = 0;        // events deleted from the journal before this sink delivered them
  std::string last_error;
  std::map<std::string, std::uint64_t> cursors;  // camera -> next seq to deliver
  nlohmann::json to_json() const;
};

class SinkRunner {
 public:
  // `head(camera)`: the last seq journaled for a camera (for the backlog). `floors` outlives this.
  using HeadOf = std::function<std::optional<std::uint64_t>(const std::string& camera)>;
  SinkRunner(config::SinkConfig cfg, std::filesystem::path journal_dir, std::unique_ptr<SinkClient> client,
             RetentionFloors* floors, HeadOf head);
  ~SinkRunner();  // stops the thread (a delivery in progress finishes or times out first)
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  SinkStatus status() const;
  const std::string& name() const { return cfg_.name; }
  // The camera's labels changed (a reload gave it another model): the client hears camera_seen()
  // again before the camera's next delivery (MQTT: Home Assistant discovery). Any thread.
  void labels_changed(const std::string& camera);

  // Where a sink keeps a camera's cursor.
  static std::filesystem::path cursor_path(const std::filesystem::path& journal_dir, const std::string& sink,
                                           const std::string& camera);

 private:
  struct Camera;
  void run();
  void loop();
  bool pump(Camera& cam);  // true when it moved the cursor
  void save_cursor(Camera& cam, std::uint64_t next);
  void fail(const std::string& what);
  void update_backlog();
  void sleep_backoff();
  void wait(std::chrono::milliseconds d);

  const config::SinkConfig cfg_;
  const std::filesystem::path dir_;
  std::unique_ptr<SinkClient> client_;
  RetentionFloors* floors_;
  HeadOf head_;
  std::map<std::string, std::unique_ptr<Camera>> cameras_;  // sink thread only
  bool connected_ = false;                                  // sink thread only
  double backoff_s_ = 0;
  std::mt19937 rng_{std::random_device{}()};                // sink thread only

  mutable std::mutex mu_;  // guards status_, stop_ and relabelled_
  std::set<std::string> relabelled_;  // cameras whose labels changed since the thread last looked
  std::condition_variable cv_;
  SinkStatus status_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace actiond::daemon
