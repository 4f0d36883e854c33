#pragma once
// Supervisor: the one thread that changes the Daemon's state. Whoever wants a change (start, reload,
// stop, a cluster take or release, a file event) hands it over as a command; commands run one at a
// time, in order, on this thread, and after each one the `after_each` hook runs (the Daemon publishes
// its immutable view there: readers on other threads take that, never the state itself).
//
//   Supervisor sup(64, [&] { publish_view(); });
//   ReloadResult r = sup.call([&] { return apply_reload(); });   // waits for the result
//   sup.post([&] { apply_reload(); });                          // does not wait
//
// Queue: at most `max_queued` commands. call() waits for room (its callers are few: signals, the
// control socket, the cluster thread); post() drops the command when the queue is full (counted in
// dropped(), logged). A call() from the supervisor thread itself runs inline (a command may use what
// it would otherwise post, e.g. the cluster's hooks during its stop).
// Thread-safety: call(), post(), dropped() from any thread; close() from the owner. After close()
// call() throws SupervisorClosed and post() returns false.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace actiond::daemon::detail {

struct SupervisorClosed : std::runtime_error {
  SupervisorClosed() : std::runtime_error("the daemon is shutting down") {}
};

class Supervisor {
 public:
  Supervisor(std::size_t max_queued, std::function<void()> after_each);
  ~Supervisor();  // close()
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs `command` on the supervisor thread and returns its result; its exception is rethrown here.
  template <class F>
  std::invoke_result_t<F&> call(F command) {
    using R = std::invoke_result_t<F&>;
    // The hook runs before the caller gets the result: what the command changed is already visible.
    auto with_hook = [this, command = std::move(command)]() mutable -> R {
      AfterEach after{this};
      return command();
    };
    if (std::this_thread::get_id() == thread_id_) return with_hook();
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(with_hook));
    std::future<R> result = task->get_future();
    if (!enqueue([task] { (*task)(); }, true)) throw SupervisorClosed();
    return result.get();
  }
  // Queues `command`; false when the queue is full (the command is dropped and counted) or closed.
  bool post(std::function<void()> command);
  // Runs the commands already queued, then ends the thread. Idempotent.
  void close();
  std::uint64_t dropped() const;

 private:
  struct AfterEach {
    Supervisor* owner;
    ~AfterEach();  // runs the hook; logs what it throws
  };
  bool enqueue(std::function<void()> command, bool wait_for_room);
  void run();

  const std::size_t max_queued_;
  const std::function<void()> after_each_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  bool closed_ = false;
  std::uint64_t dropped_ = 0;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace actiond::daemon::detail
