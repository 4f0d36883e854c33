#include "sources/source_state.hpp"

#include "actiond/pipeline/sources/source_uri.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace actiond::pipeline::detail {

void lower_thread_priority(int delta) {
  thread_local int applied = 0;
  if (delta <= 0 || applied == delta) return;
  applied = delta;
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(getpid()));  // the main thread's
  if (base == -1 && errno != 0) return;
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), std::min(19, base + delta));
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SourceContext::SourceContext(SourceOptions o, FrameHub& h)
    : opt(std::move(o)), cam(opt.camera), spec(parse_source_uri(cam.uri)), hub(h) {
  blocking = !spec.live && !cam.realtime;
}

void RateMeter::restart(std::uint64_t decoded, Clock::time_point now) {
  std::lock_guard lock(mu_);
  fps_ = 0.0;
  window_start_ = now;
  decoded_at_window_ = decoded;
}

void RateMeter::tick(std::uint64_t decoded, Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now - window_start_ < std::chrono::seconds(1)) return;
  fps_ = static_cast<double>(decoded - decoded_at_window_) / std::chrono::duration<double>(now - window_start_).count();
  decoded_at_window_ = decoded;
  window_start_ = now;
}

double RateMeter::fps(std::uint64_t decoded, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  const double elapsed = std::chrono::duration<double>(now - window_start_).count();
  if (fps_ > 0.0 || elapsed < 0.2) return fps_;
  return static_cast<double>(decoded - decoded_at_window_) / elapsed;
}

SourceState::SourceState(const SourceContext& ctx) : epoch(ctx.opt.last_epoch), ctx_(ctx) {}

void SourceState::push_status(StreamState state, const std::string& reason) {
  SourceItem item;
  item.kind = SourceItem::Kind::status;
  item.camera = ctx_.opt.handle;
  item.status.state = state;
  item.status.reason = redact_uri(reason);
  item.status.attempt = attempt.load();
  item.status.epoch = epoch.load();
  item.status.fps_in = rate.fps(decoded.load(), std::chrono::steady_clock::now());
  item.status.dropped_rate_limit = rate_drops_done.load() + rate_drops_live.load();
  item.status.clock = clock_ntp.load() ? ClockSource::ntp : ClockSource::arrival;
  ctx_.hub.push(std::move(item));
}

}  // namespace actiond::pipeline::detail
