#pragma once
// CameraDirWatcher: watches a configuration's cameras/ directory with inotify and calls `on_change`
// once its files have been quiet for `debounce` (an editor's save is several events).
//
// Thread-safety: construct and destroy on one thread; `on_change` runs on the watcher's own thread
// (the destructor wakes and joins it, so `on_change` never runs after destruction).
#include "actiond/config/unique_fd.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

namespace actiond::daemon::detail {

class CameraDirWatcher {
 public:
  // Throws std::runtime_error naming `dir` when it cannot be watched.
  CameraDirWatcher(const std::filesystem::path& dir, std::chrono::milliseconds debounce, std::function<void()> on_change);
  ~CameraDirWatcher();
  CameraDirWatcher(const CameraDirWatcher&) = delete;
  CameraDirWatcher& operator=(const CameraDirWatcher&) = delete;

 private:
  void run();

  std::function<void()> on_change_;
  std::chrono::milliseconds debounce_;
  config::UniqueFd inotify_;
  config::UniqueFd wake_;  // eventfd: the destructor's stop request
  std::thread thread_;
};

}  // namespace actiond::daemon::detail
