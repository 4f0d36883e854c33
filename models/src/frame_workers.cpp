// Threads that run parts of one batch beside the calling thread.
#include "frame_workers.hpp"

namespace actiond::models::detail {

FrameWorkers::~FrameWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void FrameWorkers::run(int parts, const std::function<void(int)>& part) {
  if (parts <= 1) {
    part(0);
    return;
  }
  while (static_cast<int>(threads_.size()) < parts - 1) {
    const int index = static_cast<int>(threads_.size()) + 1;
    threads_.emplace_back([this, index] { work(index); });
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &part;
    parts_ = parts;
    pending_ = parts - 1;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  std::exception_ptr mine;
  try {
    part(0);
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return pending_ == 0; });
  job_ = nullptr;
  if (mine) std::rethrow_exception(mine);
  if (error_) std::rethrow_exception(error_);
}

void FrameWorkers::work(int index) {
  std::uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    if (index >= parts_) continue;
    const auto* job = job_;
    lock.unlock();
    std::exception_ptr failed;
    try {
      (*job)(index);
    } catch (...) {
      failed = std::current_exception();
    }
    lock.lock();
    if (failed && !error_) error_ = failed;
    if (--pending_ == 0) done_.notify_one();
  }
}

}  // namespace actiond::models::detail
