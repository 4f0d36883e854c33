#include "actiond/daemon/analysis/events.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <cstdio>
#include <ctime>
#include <random>

namespace actiond::daemon {

using nlohmann::json;

std::string iso_time(WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int millis = static_cast<int>(ms - static_cast<long long>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

namespace {
// Rounds to `digits` decimals so JSON shows 4.208072, not 4.208071999999999.
double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}
json point_json(const FramePoint& p) { return json{{"pts", round_to(p.pts, 6)}, {"time", iso_time(p.time)}}; }
}  // namespace

EventFactory::EventFactory(std::string camera, std::vector<std::string> labels, std::uint64_t last_seq,
                           std::uint64_t epoch, nlohmann::json models)
    : camera_(std::move(camera)),
      labels_(std::move(labels)),
      seq_(last_seq),
      epoch_(epoch),
      models_(std::move(models)),
      id_salt_(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32)) {}

const std::string& EventFactory::label(int id) const {
  static const std::string unknown = "unknown";
  return id >= 0 && static_cast<std::size_t>(id) < labels_.size() ? labels_[static_cast<std::size_t>(id)] : unknown;
}

json EventFactory::envelope(const std::string& type, double pts) {
  ++seq_;
  char id[40];
  std::snprintf(id, sizeof(id), "%016llx-%llu", static_cast<unsigned long long>(id_salt_),
                static_cast<unsigned long long>(seq_));
  return json{{"schema", kEventSchema},
              {"type", type},
              {"event_id", camera_ + "-" + id},
              {"camera", camera_},
              {"models", models_},
              {"seq", seq_},
              {"epoch", epoch_},
              {"emitted_at", iso_time(std::chrono::system_clock::now())},
              {"pts", round_to(pts, 6)}};
}

json EventFactory::segment_json(const SegmentInfo& s) const {
  json j{{"id", s.id},
         {"label", label(s.label_id)},
         {"label_id", s.label_id},
         {"confidence", round_to(s.confidence, 4)},
         {"start", point_json(s.start)},
         {"end", s.end ? point_json(*s.end) : json(nullptr)},
         {"end_reason", s.end_reason.empty() ? json(nullptr) : json(s.end_reason)}};
  if (s.end) j["duration_s"] = round_to(std::max(0.0, s.end->pts - s.start.pts), 3);
  if (s.repetitions) j["repetitions"] = *s.repetitions;
  if (s.peak) {
    j["peak"] = point_json(*s.peak);
    j["peak"]["confidence"] = round_to(s.peak_confidence, 4);
  }
  return j;
}

json EventFactory::unfinished_end(const json& segment_event, double pts, const std::string& time,
                                  const std::string& reason) {
  json j = envelope("segment.end", pts);
  j["time"] = time;
  j["clock"] = segment_event.value("clock", "arrival");
  j["latency_ms"] = 0.0;  // not measured: decided at start-up, not from a frame
  j["segment"] = segment_event.at("segment");
  j["segment"]["end"] = json{{"pts", round_to(pts, 6)}, {"time", time}};
  j["segment"]["end_reason"] = reason;
  const double start = j["segment"].at("start").value("pts", pts);
  j["segment"]["duration_s"] = round_to(std::max(0.0, pts - start), 3);
  return j;
}

json EventFactory::from_tracker(const TrackerEvent& ev) {
  json j = frame_event(ev);
  j["clock"] = clock_;
  // Time from the frame's arrival (or capture, for NTP clocks) to this event.
  const auto age = std::chrono::system_clock::now() - ev.at.time;
  j["latency_ms"] = round_to(std::chrono::duration<double, std::milli>(age).count(), 1);
  return j;
}

json EventFactory::frame_event(const TrackerEvent& ev) {
  switch (ev.type) {
    case TrackerEvent::Type::segment_start: {
      json j = envelope("segment.start", ev.at.pts);
      j["time"] = iso_time(ev.at.time);
      j["segment"] = segment_json(ev.segment);
      return j;
    }
    case TrackerEvent::Type::segment_end: {
      json j = envelope("segment.end", ev.at.pts);
      j["time"] = iso_time(ev.at.time);
      j["segment"] = segment_json(ev.segment);
      return j;
    }
    case TrackerEvent::Type::repetition: {
      // A repetition starts inside the open segment: its running count and the segment it belongs to.
      json j = envelope("repetition", ev.at.pts);
      j["time"] = iso_time(ev.at.time);
      j["count"] = ev.segment.repetitions.value_or(0);
      j["score"] = round_to(ev.score, 4);
      j["label"] = label(ev.segment.label_id);
      j["segment_id"] = ev.segment.id;
      return j;
    }
    case TrackerEvent::Type::boundary:
    default: {
      json j = envelope("boundary", ev.at.pts);
      j["time"] = iso_time(ev.at.time);
      j["score"] = round_to(ev.score, 4);
      j["from"] = label(ev.from_label);
      j["to"] = label(ev.to_label);
      return j;
    }
  }
}

json EventFactory::stream_status(const StatusInfo& status, double pts) {
  json j = envelope("stream.status", pts);
  j["state"] = status.state;
  j["reason"] = status.reason;
  j["attempt"] = status.attempt;
  j["fps_in"] = round_to(status.fps_in, 2);
  j["fps_processed"] = round_to(status.fps_processed, 2);
  j["clock"] = status.clock;
  j["dropped"] = status.dropped;
  return j;
}

namespace {

// [{"label", "score"}] of the k best labels, best first.
json top_k(const std::vector<float>& probs, const std::vector<std::string>& labels, int k) {
  std::vector<std::size_t> order(probs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return probs[a] > probs[b]; });
  json top = json::array();
  for (std::size_t i = 0; i < std::min(static_cast<std::size_t>(std::max(k, 0)), order.size()); ++i) {
    const std::size_t id = order[i];
    top.push_back({{"label", id < labels.size() ? labels[id] : "?"}, {"score", round_to(probs[id], 4)}});
  }
  return top;
}

}  // namespace

void EventFactory::stamp_frame(json& j, const FramePoint& at) const {
  j["time"] = iso_time(at.time);
  j["clock"] = clock_;
  j["latency_ms"] = round_to(std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() - at.time).count(), 1);
}

json EventFactory::subject(const PersonTrack& t) {
  json box = json::array();
  for (float v : t.pose.box) box.push_back(round_to(v, 4));
  return json{{"track_id", t.id}, {"box", box}};
}

json EventFactory::pose(const models::PoseDetection& p) {
  json box = json::array();
  for (float v : p.box) box.push_back(round_to(v, 4));
  json kps = json::array();
  for (const auto& k : p.keypoints) kps.push_back({round_to(k.x, 4), round_to(k.y, 4), round_to(k.score, 3)});
  return json{{"box", box}, {"keypoints", kps}};
}

json EventFactory::track(const PersonTrack& t, const FramePoint& at, const std::string& end_reason) {
  json j = envelope(end_reason.empty() ? "track.start" : "track.end", at.pts);
  stamp_frame(j, at);
  json tr = subject(t);
  tr["score"] = round_to(t.pose.score, 4);
  tr["start_pts"] = round_to(t.first_pts, 6);
  tr["frames"] = t.hits;
  if (!end_reason.empty()) {
    tr["end_reason"] = end_reason;
    tr["last_seen_pts"] = round_to(t.last_pts, 6);
    tr["mean_score"] = round_to(t.hits > 0 ? t.score_sum / t.hits : 0.0, 4);
  }
  j["track"] = tr;
  return j;
}

json EventFactory::segment_update(const SegmentInfo& open, const FramePoint& at, const std::vector<float>& probs, int k) {
  json j = envelope("segment.update", at.pts);
  stamp_frame(j, at);
  j["segment"] = segment_json(open);
  j["segment"]["duration_s"] = round_to(std::max(0.0, at.pts - open.start.pts), 3);  // running: how long so far
  j["top_k"] = top_k(probs, labels_, k);
  return j;
}

json EventFactory::recognition(const Recognition& r) {
  json j = envelope("recognition", r.end.pts);
  stamp_frame(j, r.end);
  const json top = top_k(r.probs, r.labels, std::max(1, r.top_k));
  j["label"] = top.at(0).at("label");
  j["confidence"] = top.at(0).at("score");
  j["top_k"] = top;
  j["window"] = {{"start_pts", round_to(r.start.pts, 6)}, {"end_pts", round_to(r.end.pts, 6)}, {"frames", r.frames}};
  j["model"] = r.model;
  return j;
}

json EventFactory::clip_ready(const std::string& segment_id, const json& fields, double pts) {
  json j = envelope("clip.ready", pts);
  j["segment_id"] = segment_id;
  for (const auto& [key, value] : fields.items()) j[key] = value;
  return j;
}

json EventFactory::heartbeat(const std::string& state) {
  const std::uint64_t previous = seq_;
  json j = envelope("heartbeat", 0.0);
  j["last_seq"] = previous;
  j["state"] = state;
  return j;
}

}  // namespace actiond::daemon
