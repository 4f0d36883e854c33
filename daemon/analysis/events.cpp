#include "actiond/daemon/analysis/events.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <random>

namespace actiond::daemon {

using config::EventType;
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

std::optional<WallTime> parse_iso_time(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  int used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &millis, &used) != 7) {
    return std::nullopt;
  }
  const std::string rest = text.substr(static_cast<std::size_t>(used));
  if (!rest.empty() && rest != "Z") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t secs = timegm(&tm);
  return WallTime{} + std::chrono::seconds(secs) + std::chrono::milliseconds(millis);
}

namespace {

// Rounds to `digits` decimals so JSON shows 4.208072, not 4.208071999999999.
double round_to(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}
json point_json(const FramePoint& p) { return json{{"pts", round_to(p.pts, 6)}, {"time", iso_time(p.time)}}; }
json box_json(const std::array<float, 4>& b) {
  json box = json::array();
  for (float v : b) box.push_back(round_to(v, 4));
  return box;
}
json top_k_json(const std::vector<LabelScore>& top) {
  json out = json::array();
  for (const auto& t : top) out.push_back({{"label", t.label}, {"score", round_to(t.score, 4)}});
  return out;
}

// The k best labels, best first.
std::vector<LabelScore> top_k(const std::vector<float>& probs, const std::vector<std::string>& labels, int k) {
  std::vector<std::size_t> order(probs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return probs[a] > probs[b]; });
  std::vector<LabelScore> top;
  for (std::size_t i = 0; i < std::min(static_cast<std::size_t>(std::max(k, 0)), order.size()); ++i) {
    const std::size_t id = order[i];
    top.push_back({id < labels.size() ? labels[id] : "?", probs[id]});
  }
  return top;
}

json track_json(const PersonTrack& t, const std::optional<config::EndReason>& end_reason) {
  json tr{{"track_id", t.id}, {"box", box_json(t.pose.box)}, {"score", round_to(t.pose.score, 4)},
          {"start_pts", round_to(t.first_pts, 6)}, {"frames", t.hits}};
  if (end_reason) {
    tr["end_reason"] = config::to_string(*end_reason);
    tr["last_seen_pts"] = round_to(t.last_pts, 6);
    tr["mean_score"] = round_to(t.hits > 0 ? t.score_sum / t.hits : 0.0, 4);
  }
  return tr;
}

json status_body(json j, const StatusInfo& s) {
  j["state"] = pipeline::to_string(s.state);
  j["reason"] = s.reason;
  j["attempt"] = s.attempt;
  j["fps_in"] = round_to(s.fps_in, 2);
  j["fps_processed"] = round_to(s.fps_processed, 2);
  j["clock"] = pipeline::to_string(s.clock);
  j["dropped"] = s.dropped;
  return j;
}

}  // namespace

json to_json(const SegmentView& s) {
  const SegmentInfo& i = s.info;
  json j{{"id", i.id},
         {"label", s.label},
         {"label_id", i.label_id},
         {"confidence", round_to(i.confidence, 4)},
         {"start", point_json(i.start)},
         {"end", i.end ? point_json(*i.end) : json(nullptr)},
         {"end_reason", i.end_reason ? json(config::to_string(*i.end_reason)) : json(nullptr)}};
  if (i.end) j["duration_s"] = round_to(std::max(0.0, i.end->pts - i.start.pts), 3);
  if (i.repetitions) j["repetitions"] = *i.repetitions;
  if (i.peak) {
    j["peak"] = point_json(*i.peak);
    j["peak"]["confidence"] = round_to(i.peak_confidence, 4);
  }
  return j;
}

json to_json(const models::PoseDetection& p) {
  json kps = json::array();
  for (const auto& k : p.keypoints) kps.push_back({round_to(k.x, 4), round_to(k.y, 4), round_to(k.score, 3)});
  return json{{"box", box_json(p.box)}, {"keypoints", kps}};
}

json to_json(const Event& e) {
  json j{{"schema", kEventSchema},
         {"type", config::to_string(e.type)},
         {"event_id", e.event_id},
         {"camera", e.camera},
         {"models", e.models ? *e.models : json::array()},
         {"seq", e.seq},
         {"epoch", e.epoch},
         {"emitted_at", iso_time(e.emitted_at)},
         {"pts", round_to(e.pts, 6)}};
  if (e.time) {
    j["time"] = iso_time(*e.time);
    j["clock"] = pipeline::to_string(e.clock);
    j["latency_ms"] = round_to(e.latency_ms, 1);
  }
  if (e.subject) j["subject"] = json{{"track_id", e.subject->track_id}, {"box", box_json(e.subject->box)}};
  switch (e.type) {
    case EventType::segment_start:
    case EventType::segment_update:
    case EventType::segment_end:
      j["segment"] = to_json(*e.segment);
      if (e.running_s) j["segment"]["duration_s"] = round_to(*e.running_s, 3);
      if (e.peak_pose && j["segment"].contains("peak")) j["segment"]["peak"]["pose"] = to_json(*e.peak_pose);
      if (e.type == EventType::segment_update) j["top_k"] = top_k_json(e.top_k);
      break;
    case EventType::boundary:
      j["score"] = round_to(e.score, 4);
      j["from"] = e.from;
      j["to"] = e.to;
      break;
    case EventType::repetition:
      j["count"] = e.count;
      j["score"] = round_to(e.score, 4);
      j["label"] = e.label;
      j["segment_id"] = e.segment_id;
      break;
    case EventType::recognition:
      j["label"] = e.label;
      j["confidence"] = e.top_k.empty() ? 0.0 : round_to(e.top_k.front().score, 4);
      j["top_k"] = top_k_json(e.top_k);
      j["window"] = {{"start_pts", round_to(e.window.start_pts, 6)},
                     {"end_pts", round_to(e.window.end_pts, 6)},
                     {"frames", e.window.frames}};
      j["model"] = e.model;
      break;
    case EventType::track_start:
    case EventType::track_end:
      j["track"] = track_json(*e.track, e.track_end_reason);
      break;
    case EventType::stream_status:
      j = status_body(std::move(j), *e.status);
      break;
    case EventType::heartbeat:
      j["last_seq"] = e.last_seq;
      j["state"] = pipeline::to_string(e.state);
      break;
    case EventType::clip_ready:
      j["segment_id"] = e.segment_id;
      for (const auto& [key, value] : e.clip.items()) j[key] = value;
      break;
  }
  return j;
}

std::optional<SegmentView> segment_from_json(const json& seg) {
  if (!seg.is_object()) return std::nullopt;
  try {
    SegmentView v;
    v.info.id = seg.at("id").get<std::string>();
    v.label = seg.at("label").get<std::string>();
    v.info.label_id = seg.value("label_id", 0);
    v.info.confidence = seg.value("confidence", 0.0);
    const auto point = [](const json& p) -> std::optional<FramePoint> {
      const auto t = parse_iso_time(p.value("time", ""));
      if (!t) return std::nullopt;
      return FramePoint{p.at("pts").get<double>(), *t};
    };
    const auto start = point(seg.at("start"));
    if (!start) return std::nullopt;
    v.info.start = *start;
    if (seg.contains("repetitions") && seg["repetitions"].is_number_integer()) v.info.repetitions = seg["repetitions"].get<int>();
    if (seg.contains("peak") && seg["peak"].is_object()) {
      v.info.peak = point(seg["peak"]);
      v.info.peak_confidence = seg["peak"].value("confidence", 0.0);
    }
    return v;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

EventFactory::EventFactory(std::string camera, std::vector<std::string> labels, std::uint64_t last_seq,
                           std::uint64_t epoch, nlohmann::json models)
    : camera_(std::move(camera)),
      labels_(std::move(labels)),
      seq_(last_seq),
      epoch_(epoch),
      models_(std::make_shared<const json>(std::move(models))),
      id_salt_(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32)) {}

const std::string& EventFactory::label(int id) const {
  static const std::string unknown = "unknown";
  return id >= 0 && static_cast<std::size_t>(id) < labels_.size() ? labels_[static_cast<std::size_t>(id)] : unknown;
}

Event EventFactory::envelope(EventType type, double pts) {
  ++seq_;
  char id[40];
  std::snprintf(id, sizeof(id), "%016llx-%llu", static_cast<unsigned long long>(id_salt_),
                static_cast<unsigned long long>(seq_));
  Event e;
  e.type = type;
  e.camera = camera_;
  e.event_id = camera_ + "-" + id;
  e.seq = seq_;
  e.epoch = epoch_;
  e.emitted_at = std::chrono::system_clock::now();
  e.pts = pts;
  e.models = models_;
  return e;
}

Event EventFactory::frame_event(EventType type, const FramePoint& at) {
  Event e = envelope(type, at.pts);
  e.time = at.time;
  e.clock = clock_;
  // Time from the frame's arrival (or capture, for NTP clocks) to this event.
  e.latency_ms = std::chrono::duration<double, std::milli>(e.emitted_at - at.time).count();
  return e;
}

Event EventFactory::unfinished_end(const SegmentView& open, pipeline::ClockSource clock, const FramePoint& at,
                                   config::EndReason reason) {
  Event e = envelope(EventType::segment_end, at.pts);
  e.time = at.time;
  e.clock = clock;
  e.latency_ms = 0.0;  // not measured: decided at start-up, not from a frame
  e.segment = open;
  e.segment->info.end = at;
  e.segment->info.end_reason = reason;
  return e;
}

Event EventFactory::from_tracker(const TrackerEvent& ev) {
  switch (ev.type) {
    case TrackerEvent::Type::segment_start:
    case TrackerEvent::Type::segment_end: {
      Event e = frame_event(ev.type == TrackerEvent::Type::segment_start ? EventType::segment_start : EventType::segment_end, ev.at);
      e.segment = segment(ev.segment);
      return e;
    }
    case TrackerEvent::Type::repetition: {
      // A repetition starts inside the open segment: its running count and the segment it belongs to.
      Event e = frame_event(EventType::repetition, ev.at);
      e.count = ev.segment.repetitions.value_or(0);
      e.score = ev.score;
      e.label = label(ev.segment.label_id);
      e.segment_id = ev.segment.id;
      return e;
    }
    case TrackerEvent::Type::boundary:
      break;
  }
  Event e = frame_event(EventType::boundary, ev.at);
  e.score = ev.score;
  e.from = label(ev.from_label);
  e.to = label(ev.to_label);
  return e;
}

Event EventFactory::stream_status(const StatusInfo& status, double pts) {
  Event e = envelope(EventType::stream_status, pts);
  e.status = status;
  return e;
}

Event EventFactory::track_start(const PersonTrack& t, const FramePoint& at) {
  Event e = frame_event(EventType::track_start, at);
  e.track = t;
  return e;
}

Event EventFactory::track_end(const PersonTrack& t, const FramePoint& at, config::EndReason reason) {
  Event e = frame_event(EventType::track_end, at);
  e.track = t;
  e.track_end_reason = reason;
  return e;
}

Event EventFactory::segment_update(const SegmentInfo& open, const FramePoint& at, const std::vector<float>& probs, int k) {
  Event e = frame_event(EventType::segment_update, at);
  e.segment = segment(open);
  e.running_s = std::max(0.0, at.pts - open.start.pts);  // running: how long so far
  e.top_k = top_k(probs, labels_, k);
  return e;
}

Event EventFactory::recognition(const Recognition& r) {
  Event e = frame_event(EventType::recognition, r.end);
  e.top_k = top_k(r.probs, r.labels, std::max(1, r.top_k));
  e.label = e.top_k.empty() ? "?" : e.top_k.front().label;
  e.window = {r.start.pts, r.end.pts, r.frames};
  e.model = r.model;
  return e;
}

Event EventFactory::clip_ready(const std::string& segment_id, json fields, double pts) {
  Event e = envelope(EventType::clip_ready, pts);
  e.segment_id = segment_id;
  e.clip = std::move(fields);
  return e;
}

Event EventFactory::heartbeat(pipeline::StreamState state) {
  const std::uint64_t previous = seq_;
  Event e = envelope(EventType::heartbeat, 0.0);
  e.last_seq = previous;
  e.state = state;
  return e;
}

}  // namespace actiond::daemon
