// CameraSource: the façade and the supervisor thread (one connection after another, with backoff).
// The graph of each connection is in camera_graph.cpp, its callbacks in stream_callbacks.cpp.
#include "actiond/pipeline/sources/camera_source.hpp"

#include "actiond/config/log.hpp"
#include "actiond/pipeline/files/npy_file.hpp"
#include "gst/gst_util.hpp"
#include "sources/camera_graph.hpp"
#include "sources/feature_replay.hpp"
#include "sources/rtsp_transport.hpp"
#include "sources/source_state.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

namespace actiond::pipeline {

namespace {
spdlog::logger& logger() { return config::module_log("camera"); }
}  // namespace

using namespace detail;
using Clock = std::chrono::steady_clock;

namespace {

// An error or warning message's text and debug details, credentials redacted.
std::pair<std::string, std::string> message_text(GstMessage* msg, const char* fallback) {
  GError* raw = nullptr;
  gchar* dbg = nullptr;
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error(msg, &raw, &dbg);
  } else {
    gst_message_parse_warning(msg, &raw, &dbg);
  }
  ErrorPtr err(raw);
  CharPtr debug(dbg);
  return {redact_uri(err ? err->message : fallback), debug ? redact_uri(debug.get()) : ""};
}

// How one connection ended.
struct Outcome {
  enum class Kind { stopped, error, eos, stalled, transport_refused };
  Kind kind = Kind::stopped;
  std::string reason;
};

}  // namespace

// Members are the supervisor thread's unless marked otherwise.
struct CameraSource::Impl {
  SourceContext ctx;                         // immutable (any thread)
  SourceState state;                         // thread-safe (supervisor, streaming threads)
  std::unique_ptr<SyntheticFeed> synthetic;  // synthetic cameras: the world persists across reconnects
  std::unique_ptr<CameraGraph> graph;        // the current connection
  std::thread supervisor;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  bool started = false;   // controlling thread
  std::mt19937_64 rng{std::random_device{}()};

  Impl(SourceOptions o, FrameHub& h) : ctx((ensure_gst_initialized(), std::move(o)), h), state(ctx) {
    if (ctx.spec.kind == SourceSpec::Kind::synthetic) synthetic = std::make_unique<SyntheticFeed>(ctx.spec);
    state.transport = ctx.cam.transport == config::Transport::udp ? config::Transport::udp : config::Transport::tcp;
    ctx.hub.add_camera(ctx.opt.handle, static_cast<std::size_t>(ctx.cam.queue_frames), ctx.blocking);
  }

  const config::CameraConfig& cam() const { return ctx.cam; }

  void teardown() {
    if (!graph) return;
    state.rate_drops_done += graph->rate_drops();  // this connection's videorate drops, all of them
    state.rate_drops_live = 0;
    graph.reset();  // stops the streaming threads first
  }

  bool wait_stop(double seconds) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return stopping; });
  }

  bool is_stopping() {
    std::lock_guard lock(mu);
    return stopping;
  }

  // The reason an error of this connection gives: what the RTSP server refused, when it did.
  Outcome error_outcome(const std::string& message, const std::string& debug, const std::string& warnings) {
    if (ctx.spec.live && state.awaiting_first_frame.load()) {
      if (auto refused = rtsp_transport_refusal(state.transport.load(), message + "\n" + debug + "\n" + warnings)) {
        return {Outcome::Kind::transport_refused, *refused};
      }
    }
    return {Outcome::Kind::error, message};
  }

  Outcome run_connection();
  Outcome run_feature_replay();
  void supervise();
  // After a refused transport: the other one next (auto only); true when it should be tried now.
  bool switch_transport(const Outcome& o);
};


Outcome CameraSource::Impl::run_connection() {
  state.awaiting_first_frame = true;
  try {
    graph = std::make_unique<CameraGraph>(ctx, state, synthetic.get());
  } catch (const std::exception& e) {
    return {Outcome::Kind::error, e.what()};
  }
  BusPtr bus(gst_element_get_bus(graph->pipeline()));
  const auto started_ns = now_ns();
  const std::uint64_t decoded_at_start = state.decoded.load();
  state.last_decoded_ns = started_ns;
  state.rate.restart(decoded_at_start, Clock::now());
  gst_element_set_state(graph->pipeline(), GST_STATE_PLAYING);  // failures arrive on the bus

  std::uint64_t drops_seen = ctx.hub.counters(ctx.opt.handle).dropped_queue_full;
  auto last_drop = Clock::now() - std::chrono::hours(1);
  bool blocked = false;
  const auto stall_ns = static_cast<std::int64_t>(cam().stall_timeout_s * 1e9);
  std::string last_warning;
  std::string warnings;  // this connection's, for telling why a transport was refused

  while (!is_stopping()) {
    MessagePtr msg(gst_bus_timed_pop_filtered(
        bus.get(), 100 * GST_MSECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING)));
    if (msg) {
      switch (GST_MESSAGE_TYPE(msg.get())) {
        case GST_MESSAGE_ERROR: {
          const auto [message, details] = message_text(msg.get(), "unknown error");
          Outcome o = error_outcome(message, details, warnings);
          logger().error("camera {}: {} (from {}; {})", cam().id, o.reason, GST_OBJECT_NAME(msg->src), details);
          return o;
        }
        case GST_MESSAGE_EOS:
          // rtspsrc ends the stream with EOS when it loses the server, after a warning: that is a loss.
          if (ctx.spec.live && !last_warning.empty()) return {Outcome::Kind::error, last_warning};
          return {Outcome::Kind::eos, "end of stream"};
        case GST_MESSAGE_WARNING: {
          const auto [message, details] = message_text(msg.get(), "warning");
          last_warning = message;
          warnings += message + "\n" + details + "\n";
          logger().warn("camera {}: {}", cam().id, last_warning);
          break;
        }
        default:
          break;
      }
    }
    const auto now = Clock::now();
    state.rate.tick(state.decoded.load(), now);
    state.rate_drops_live = graph->rate_drops();
    // Stall: a live source that stopped sending (or never started); a file that never yields a
    // first frame (a demuxer stuck on a damaged file). A file already playing may wait on analysis.
    if (ctx.spec.live && now_ns() - state.last_decoded_ns.load() > stall_ns) {
      return {Outcome::Kind::stalled, "no frames from the source for " + config::format_number(cam().stall_timeout_s) + " s"};
    }
    if (!ctx.spec.live && state.decoded.load() == decoded_at_start && now_ns() - started_ns > stall_ns) {
      return {Outcome::Kind::stalled, "no frame decoded within " + config::format_number(cam().stall_timeout_s) + " s"};
    }
    // Backpressure: frames dropped because analysis is slower than the source.
    const std::uint64_t drops = ctx.hub.counters(ctx.opt.handle).dropped_queue_full;
    if (drops > drops_seen) {
      drops_seen = drops;
      last_drop = now;
      if (!blocked && !state.awaiting_first_frame.load()) {
        blocked = true;
        logger().warn("camera {}: analysis slower than the source; dropping oldest frames", cam().id);
        state.push_status(StreamState::blocked, "analysis slower than the source; dropping oldest frames");
      }
    } else if (blocked && now - last_drop > std::chrono::seconds(2)) {
      blocked = false;
      state.push_status(StreamState::running, "analysis caught up");
    }
  }
  return {Outcome::Kind::stopped, "stopped"};
}

// features:// cameras: one row per analysis frame, paced at `fps` (or as fast as analysis allows
// when not real time), straight to the hub. Frames point into the shared file data.
Outcome CameraSource::Impl::run_feature_replay() {
  std::shared_ptr<const FeatureFile> file;
  try {
    file = std::make_shared<const FeatureFile>(read_feature_file(ctx.spec.device));
  } catch (const std::exception& e) {
    return {Outcome::Kind::error, e.what()};
  }
  state.epoch.fetch_add(1);
  state.push_status(StreamState::running, "replaying " + std::to_string(file->frames) + " feature rows of dimension " +
                                              std::to_string(file->dim));
  const bool ended = replay_features(
      file, ctx.opt.handle, cam().fps, cam().realtime, ctx.hub,
      [this](Clock::time_point until) {
        std::unique_lock lock(mu);
        return cv.wait_until(lock, until, [&] { return stopping; });
      },
      [this] {
        state.decoded.fetch_add(1);
        state.last_decoded_ns.store(now_ns());
      });
  if (!ended) return {Outcome::Kind::stopped, "stopped"};
  return {Outcome::Kind::eos, "end of file"};
}

bool CameraSource::Impl::switch_transport(const Outcome& o) {
  if (cam().transport != config::Transport::automatic) return false;
  const auto refused = state.transport.load();
  const auto next = refused == config::Transport::tcp ? config::Transport::udp : config::Transport::tcp;
  state.transport = next;
  logger().warn("camera {}: {}; trying {}", cam().id, o.reason, next == config::Transport::udp ? "UDP" : "TCP");
  state.push_status(StreamState::starting, o.reason + "; trying " + (next == config::Transport::udp ? "UDP" : "TCP"));
  // Straight away the first time; a server that refuses both is then retried with backoff.
  return refused == config::Transport::tcp;
}

void CameraSource::Impl::supervise() {
  state.attempt = 0;
  state.push_status(StreamState::starting, "connecting to " + cam().uri);
  while (!is_stopping()) {
    const Outcome o = ctx.spec.kind == SourceSpec::Kind::features ? run_feature_replay() : run_connection();
    teardown();
    if (o.kind == Outcome::Kind::stopped) break;
    if (o.kind == Outcome::Kind::transport_refused && switch_transport(o)) continue;

    if (!ctx.spec.live) {
      // Files: end of file is final unless looping; an error is final.
      if (o.kind == Outcome::Kind::eos) {
        state.push_status(StreamState::eos, cam().loop ? "end of file; starting again" : "end of file");
        if (cam().loop) continue;
      } else {
        state.push_status(StreamState::failed, o.reason);
      }
      break;
    }

    // Live sources: report the loss (closes the open segment), then back off and retry.
    if (o.kind == Outcome::Kind::eos) state.push_status(StreamState::eos, "the source ended the stream");
    if (o.kind == Outcome::Kind::stalled) {
      logger().warn("camera {}: stalled: {}", cam().id, o.reason);
      state.push_status(StreamState::stalled, o.reason);
    }
    const int next = state.attempt.load() + 1;
    if (cam().reconnect.max_attempts > 0 && next > cam().reconnect.max_attempts) {
      state.push_status(StreamState::failed,
                        "gave up after " + std::to_string(cam().reconnect.max_attempts) + " attempt(s): " + o.reason);
      break;
    }
    state.attempt = next;
    const double delay = cam().reconnect.backoff_s(next, std::uniform_real_distribution<double>(0, 1)(rng));
    logger().info("camera {}: reconnecting in {:.2f} s (attempt {}): {}", cam().id, delay, next, o.reason);
    state.push_status(StreamState::reconnecting, o.reason);
    if (wait_stop(delay)) break;
  }
}

CameraSource::CameraSource(SourceOptions options, FrameHub& hub) : impl_(std::make_unique<Impl>(std::move(options), hub)) {}

CameraSource::~CameraSource() { stop(); }

std::uint64_t CameraSource::frames_decoded() const { return impl_->state.decoded.load(); }

const SourceOptions& CameraSource::options() const { return impl_->ctx.opt; }

void CameraSource::start() {
  if (impl_->started) return;
  impl_->started = true;
  logger().info("camera {}: starting {} at {} fps -> {}x{} RGB", impl_->cam().id, redact_uri(impl_->cam().uri),
                impl_->cam().fps, impl_->ctx.opt.width, impl_->ctx.opt.height);
  impl_->supervisor = std::thread([this] { impl_->supervise(); });
}

void CameraSource::stop() {
  if (!impl_ || !impl_->started) return;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->ctx.hub.remove_camera(impl_->ctx.opt.handle);  // releases a producer waiting for space
  if (impl_->supervisor.joinable()) impl_->supervisor.join();
  impl_->teardown();
}

}  // namespace actiond::pipeline
