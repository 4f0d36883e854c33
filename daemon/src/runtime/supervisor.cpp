#include "runtime/supervisor.hpp"

#include "actiond/config/log.hpp"

namespace actiond::daemon::detail {

namespace {
spdlog::logger& logger() { return config::module_log("daemon"); }
}  // namespace

Supervisor::Supervisor(std::size_t max_queued, std::function<void()> after_each)
    : max_queued_(max_queued), after_each_(std::move(after_each)) {
  // thread_id_ is written before any command can run and read only after enqueue's lock.
  std::promise<void> ready;
  auto started = ready.get_future();
  thread_ = std::thread([this, &ready] {
    thread_id_ = std::this_thread::get_id();
    ready.set_value();
    run();
  });
  started.wait();
}

Supervisor::~Supervisor() { close(); }

Supervisor::AfterEach::~AfterEach() {
  try {
    owner->after_each_();
  } catch (const std::exception& e) {
    logger().error("supervisor: publishing the daemon's view failed: {}", e.what());
  }
}

bool Supervisor::post(std::function<void()> command) {
  return enqueue(
      [this, command = std::move(command)] {
        AfterEach after{this};
        command();
      },
      false);
}

bool Supervisor::enqueue(std::function<void()> command, bool wait_for_room) {
  std::unique_lock lock(mu_);
  if (wait_for_room) changed_.wait(lock, [&] { return closed_ || queue_.size() < max_queued_; });
  if (closed_) return false;
  if (queue_.size() >= max_queued_) {
    ++dropped_;
    logger().warn("supervisor: {} commands queued; one dropped", queue_.size());
    return false;
  }
  queue_.push_back(std::move(command));
  changed_.notify_all();
  return true;
}

void Supervisor::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    changed_.wait(lock, [&] { return closed_ || !queue_.empty(); });
    if (queue_.empty()) return;  // closed and drained
    auto command = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();  // room for a waiting call()
    lock.unlock();
    try {
      command();  // call()'s exceptions travel in its packaged_task; each command runs the hook itself
    } catch (const std::exception& e) {
      logger().error("supervisor: a posted command failed: {}", e.what());
    }
    lock.lock();
  }
}

void Supervisor::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable() && std::this_thread::get_id() != thread_id_) thread_.join();
}

std::uint64_t Supervisor::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

}  // namespace actiond::daemon::detail
