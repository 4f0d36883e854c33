#include "runtime/camera_dir_watcher.hpp"

#include "actiond/config/log.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace actiond::daemon::detail {

CameraDirWatcher::CameraDirWatcher(const std::filesystem::path& dir, std::chrono::milliseconds debounce,
                                   std::function<void()> on_change)
    : on_change_(std::move(on_change)),
      debounce_(debounce),
      inotify_(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!inotify_ || !wake_) throw std::runtime_error(std::string("reload: inotify/eventfd unavailable: ") + std::strerror(errno));
  const auto mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB;
  if (inotify_add_watch(inotify_.get(), dir.c_str(), mask) < 0) {
    throw std::runtime_error("reload: cannot watch " + dir.string() + ": " + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

CameraDirWatcher::~CameraDirWatcher() {
  const std::uint64_t one = 1;
  if (write(wake_.get(), &one, sizeof(one)) < 0) config::module_log("daemon").warn("reload: cannot wake the watcher");
  thread_.join();
}

void CameraDirWatcher::run() {
  bool pending = false;
  for (;;) {
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    const int timeout = pending ? static_cast<int>(debounce_.count()) : -1;
    const int n = poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (fds[1].revents & POLLIN) return;
    if (n == 0 && pending) {  // quiet for `debounce_`
      pending = false;
      on_change_();
      continue;
    }
    if (fds[0].revents & POLLIN) {
      alignas(inotify_event) char buf[4096];
      while (read(inotify_.get(), buf, sizeof(buf)) > 0) {
      }
      pending = true;
    }
  }
}

}  // namespace actiond::daemon::detail
