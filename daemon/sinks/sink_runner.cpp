#include "actiond/daemon/sinks/sink_runner.hpp"

#include "actiond/config/log.hpp"
#include "actiond/daemon/journal/journal_reader.hpp"
#include "actiond/config/unique_fd.hpp"
#include "actiond/daemon/sinks/sink_format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace actiond::daemon {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
spdlog::logger& logger() { return config::module_log("sinks"); }
}  // namespace

struct SinkRunner::Camera {
  Camera(const fs::path& dir, std::string id, std::uint64_t from) : name(id), reader(dir, std::move(id), from), cursor(from) {}
  std::string name;
  JournalReader reader;
  std::uint64_t cursor;            // next seq to deliver (0: from the oldest journaled)
  std::uint64_t lost_reported = 0;
  bool seen = false;               // camera_seen() since the last connect
  struct Pending {
    SinkEvent event;
    bool send = false;  // false: filtered out or no payload in this format
  };
  std::vector<Pending> pending;  // read from the journal, not yet acknowledged
};

json SinkStatus::to_json() const {
  return json{{"name", name},         {"type", type},       {"connected", connected},   {"delivered", delivered},
              {"skipped", skipped},   {"backlog", backlog}, {"reconnects", reconnects}, {"failures", failures},
              {"lost", lost},         {"last_error", last_error.empty() ? json(nullptr) : json(last_error)},
              {"cursors", cursors}};
}

fs::path SinkRunner::cursor_path(const fs::path& journal_dir, const std::string& sink, const std::string& camera) {
  return journal_dir / ".sinks" / sink / (camera + ".cursor");
}

SinkRunner::SinkRunner(config::SinkConfig cfg, fs::path journal_dir, std::unique_ptr<SinkClient> client,
                       RetentionFloors* floors, HeadOf head)
    : cfg_(std::move(cfg)), dir_(std::move(journal_dir)), client_(std::move(client)), floors_(floors), head_(std::move(head)) {
  status_.name = cfg_.name;
  status_.type = std::string(config::to_string(cfg_.type));
  if (floors_ != nullptr) floors_->register_sink(cfg_.name);
  std::error_code ec;
  fs::create_directories(dir_ / ".sinks" / cfg_.name, ec);
  if (ec) throw std::runtime_error("sink " + cfg_.name + ": cannot create " + (dir_ / ".sinks" / cfg_.name).string() + ": " + ec.message());
  // Cursors first, so the journal keeps what this sink still needs from the first event on.
  for (const auto& cam : Journal::cameras(dir_)) {
    std::uint64_t from = 0;
    std::ifstream in(cursor_path(dir_, cfg_.name, cam));
    if (in >> from) {
      const auto last = Journal::last(dir_, cam).seq;
      if (from > last + 1) {  // the journal was wiped and seq began again
        logger().warn("sink {}: camera {}: cursor {} is past the journal's last event {}: starting from its oldest",
                      cfg_.name, cam, from, last);
        from = 0;
      }
    }
    auto c = std::make_unique<Camera>(dir_, cam, from);
    if (floors_ != nullptr) floors_->set(cfg_.name, cam, from);
    cameras_.emplace(cam, std::move(c));
  }
  thread_ = std::thread([this] { run(); });
}

SinkRunner::~SinkRunner() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (connected_) client_->disconnect();
}

SinkStatus SinkRunner::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void SinkRunner::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stop_; });
}

void SinkRunner::save_cursor(Camera& cam, std::uint64_t next) {
  cam.cursor = next;
  const fs::path path = cursor_path(dir_, cfg_.name, cam.name);
  const fs::path tmp = path.string() + ".tmp";
  const std::string text = std::to_string(next) + "\n";
  config::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
  bool ok = static_cast<bool>(fd) && ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fdatasync(fd.get()) == 0;
  fd.reset();
  std::error_code ec;
  if (ok) fs::rename(tmp, path, ec);
  if (!ok || ec) {
    // Delivery goes on; after a restart this camera's events since the last saved cursor go again.
    logger().error("sink {}: cannot save cursor {}: {}", cfg_.name, path.string(), ec ? ec.message() : std::strerror(errno));
  }
  if (floors_ != nullptr) floors_->set(cfg_.name, cam.name, next);
}

void SinkRunner::fail(const std::string& what) {
  if (connected_) client_->disconnect();
  connected_ = false;
  backoff_s_ = backoff_s_ == 0 ? cfg_.backoff_min_s : std::min(cfg_.backoff_max_s, backoff_s_ * 2);
  logger().warn("sink {}: {} (retrying in about {:.1f} s)", cfg_.name, what, backoff_s_);
  std::lock_guard lock(mu_);
  status_.connected = false;
  ++status_.failures;
  status_.last_error = what;
}

void SinkRunner::labels_changed(const std::string& camera) {
  std::lock_guard lock(mu_);
  relabelled_.insert(camera);
}

bool SinkRunner::pump(Camera& cam) {
  {
    std::lock_guard lock(mu_);
    if (relabelled_.erase(cam.name) != 0) cam.seen = false;
  }
  if (cam.pending.empty()) {
    auto events = cam.reader.read(static_cast<std::size_t>(cfg_.batch));
    if (cam.reader.lost() > cam.lost_reported) {
      const auto [a, b] = cam.reader.last_lost_range();
      logger().error("sink {}: camera {}: {} events (last range seq {}..{}) were gone from the journal before this "
                     "sink delivered them", cfg_.name, cam.name, cam.reader.lost() - cam.lost_reported, a, b);
      std::lock_guard lock(mu_);
      status_.lost += cam.reader.lost() - cam.lost_reported;
      cam.lost_reported = cam.reader.lost();
    }
    for (auto& e : events) {
      Camera::Pending p;
      p.event.camera = cam.name;
      p.event.seq = e.seq;
      p.event.event = json::parse(e.line, nullptr, false);
      if (p.event.event.is_object()) {
        const auto type = p.event.event.find("type");
        const auto id = p.event.event.find("event_id");
        p.event.type = type != p.event.event.end() && type->is_string() ? type->get<std::string>() : "";
        p.event.event_id = id != p.event.event.end() && id->is_string() ? id->get<std::string>() : "";
        if (sink_accepts(cfg_.filter, p.event.event)) {
          if (auto body = sink_payload(cfg_.format, p.event.event, e.line)) {
            p.event.body = std::move(*body);
            p.send = true;
          }
        }
      }
      cam.pending.push_back(std::move(p));
    }
  }
  if (cam.pending.empty()) return false;
  std::vector<SinkEvent> batch;
  for (const auto& p : cam.pending) {
    if (p.send) batch.push_back(p.event);
  }
  const std::uint64_t after = cam.pending.back().event.seq + 1;
  if (batch.empty()) {
    std::lock_guard lock(mu_);
    status_.skipped += cam.pending.size();
  } else {
    if (!cam.seen) {
      if (const std::string err = client_->camera_seen(cam.name); !err.empty()) {
        fail("camera " + cam.name + ": " + err);
        return false;
      }
      cam.seen = true;
    }
    std::string error;
    const std::size_t n = std::min(client_->deliver(batch, error), batch.size());
    if (n < batch.size()) {
      if (n > 0) {
        const std::uint64_t next = batch[n].seq;
        std::size_t done = 0;
        while (done < cam.pending.size() && cam.pending[done].event.seq < next) ++done;
        cam.pending.erase(cam.pending.begin(), cam.pending.begin() + static_cast<std::ptrdiff_t>(done));
        save_cursor(cam, next);
        std::lock_guard lock(mu_);
        status_.delivered += n;
        status_.skipped += done - n;
      }
      fail("camera " + cam.name + ": delivery failed: " + (error.empty() ? "not acknowledged" : error));
      return n > 0;
    }
    std::lock_guard lock(mu_);
    status_.delivered += n;
    status_.skipped += cam.pending.size() - n;
  }
  cam.pending.clear();
  save_cursor(cam, after);
  return true;
}

void SinkRunner::update_backlog() {
  std::lock_guard lock(mu_);
  status_.backlog = 0;
  for (auto& [id, cam] : cameras_) {
    status_.cursors[id] = cam->cursor;
    const auto head = head_ ? head_(id) : std::nullopt;
    const std::uint64_t last = head ? *head : cam->reader.next() - (cam->reader.next() > 0 ? 1 : 0);
    if (last + 1 > cam->cursor) status_.backlog += last + 1 - std::max<std::uint64_t>(cam->cursor, 1);
  }
}

void SinkRunner::sleep_backoff() {
  // +-20 % jitter, so sinks that failed together do not all come back at the same moment.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const double s = std::clamp(backoff_s_ * jitter(rng_), cfg_.backoff_min_s, cfg_.backoff_max_s);
  wait(std::chrono::milliseconds(static_cast<long>(s * 1000)));
}

void SinkRunner::run() {
  // A client that throws (a broker's reply it cannot read, an allocation failure) fails like any
  // delivery: the sink reconnects with backoff; the daemon goes on.
  for (;;) {
    try {
      loop();
      return;
    } catch (const std::exception& e) {
      fail(std::string("error: ") + e.what());
    }
    sleep_backoff();
  }
}

void SinkRunner::loop() {
  bool ever_connected = false;
  auto last_scan = std::chrono::steady_clock::now() - std::chrono::hours(1);
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_scan > std::chrono::seconds(1)) {  // cameras that started journaling since
      last_scan = now;
      for (const auto& id : Journal::cameras(dir_)) {
        if (cameras_.count(id) != 0) continue;
        if (floors_ != nullptr) floors_->set(cfg_.name, id, 0);
        cameras_.emplace(id, std::make_unique<Camera>(dir_, id, 0));
      }
    }
    update_backlog();
    if (!connected_) {
      if (const std::string err = client_->connect(); !err.empty()) {
        fail("connect: " + err);
        sleep_backoff();
        continue;
      }
      connected_ = true;  // the backoff goes on growing until something is delivered
      for (auto& [id, cam] : cameras_) cam->seen = false;
      logger().info("sink {}: connected", cfg_.name);
      std::lock_guard lock(mu_);
      status_.connected = true;
      if (ever_connected) ++status_.reconnects;
      ever_connected = true;
    }
    bool moved = false;
    for (auto& [id, cam] : cameras_) {
      if (!connected_) break;
      moved = pump(*cam) || moved;
    }
    if (moved && connected_) backoff_s_ = 0;
    if (!connected_) {
      sleep_backoff();
      continue;
    }
    if (!moved) {
      if (const std::string err = client_->idle(); !err.empty()) {
        fail(err);
        continue;
      }
      backoff_s_ = 0;  // connected, nothing to send, and the connection is fine
      wait(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace actiond::daemon
