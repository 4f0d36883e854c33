#pragma once
// Threads that run parts of one batch beside the calling thread (internal to models/src).
// Thread-safety: a FrameWorkers is owned and called by one thread; run() returns when every part has
// finished. The workers start on first use and are joined by the destructor.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace actiond::models::detail {

class FrameWorkers {
 public:
  FrameWorkers() = default;
  ~FrameWorkers();
  FrameWorkers(const FrameWorkers&) = delete;
  FrameWorkers& operator=(const FrameWorkers&) = delete;

  // Calls part(k) for every k in [0, parts): part 0 on the calling thread, the others on workers, all
  // at once. Rethrows the first exception a part threw once all parts are done.
  void run(int parts, const std::function<void(int)>& part);

 private:
  void work(int index);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0;
  int pending_ = 0;
  std::uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;  // worker k runs part k + 1
};

}  // namespace actiond::models::detail
