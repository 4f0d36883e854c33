#include "actiond/daemon/analysis/events.hpp"

#include <catch2/catch.hpp>

using namespace actiond::daemon;

TEST_CASE("iso_time is UTC with milliseconds", "[events]") {
  CHECK(iso_time(WallTime(std::chrono::milliseconds(0))) == "1970-01-01T00:00:00.000Z");
  CHECK(iso_time(WallTime(std::chrono::milliseconds(1795300200123LL))) == "2026-11-21T22:30:00.123Z");
}

TEST_CASE("segment events carry the envelope and the segment", "[events]") {
  EventFactory f("door", {"background", "pour"});
  TrackerEvent start;
  start.type = TrackerEvent::Type::segment_start;
  start.at = FramePoint{12.4000001, WallTime(std::chrono::milliseconds(1795300200123LL))};
  start.segment.id = "door-1";
  start.segment.label_id = 1;
  start.segment.confidence = 0.912345;
  start.segment.start = start.at;
  auto j = to_json(f.from_tracker(start));
  CHECK(j["schema"] == "actiond.event/1");
  CHECK(j["type"] == "segment.start");
  CHECK(j["camera"] == "door");
  CHECK(j["seq"] == 1);
  CHECK(j["pts"] == 12.4);
  CHECK(j["emitted_at"].get<std::string>().size() == 24);
  CHECK(j["segment"]["label"] == "pour");
  CHECK(j["segment"]["label_id"] == 1);
  CHECK(j["segment"]["confidence"] == 0.9123);
  CHECK(j["segment"]["start"]["time"] == "2026-11-21T22:30:00.123Z");
  CHECK(j["segment"]["end"].is_null());
  CHECK(j["segment"]["end_reason"].is_null());

  TrackerEvent end = start;
  end.type = TrackerEvent::Type::segment_end;
  end.segment.end = FramePoint{15.0, start.at.time + std::chrono::milliseconds(2600)};
  end.segment.end_reason = actiond::config::EndReason::background;
  auto e = to_json(f.from_tracker(end));
  CHECK(e["seq"] == 2);
  CHECK(e["segment"]["end"]["pts"] == 15.0);
  CHECK(e["segment"]["end_reason"] == "background");

  StatusInfo info;
  info.state = actiond::pipeline::StreamState::reconnecting;
  info.reason = "connection refused";
  info.attempt = 2;
  info.dropped["queue_full"] = 7;
  f.set_epoch(4);
  auto s = to_json(f.stream_status(info, 15.0));
  CHECK(s["type"] == "stream.status");
  CHECK(s["seq"] == 3);
  CHECK(s["epoch"] == 4);
  CHECK(s["state"] == "reconnecting");
  CHECK(s["attempt"] == 2);
  CHECK(s["dropped"]["queue_full"] == 7);
  CHECK(j["epoch"] == 0);
  CHECK(f.last_seq() == 3);
}

TEST_CASE("parse_iso_time reads what iso_time writes, and nothing else", "[events]") {
  const WallTime t(std::chrono::milliseconds(1795300200123LL));
  CHECK(parse_iso_time(iso_time(t)) == t);
  CHECK(parse_iso_time("2026-11-21T22:30:00.123") == t);
  CHECK_FALSE(parse_iso_time("2026-11-21 22:30"));
  CHECK_FALSE(parse_iso_time("2026-11-21T22:30:00.123Z+junk"));
}

TEST_CASE("a segment left open by a previous run ends as journaled, with its reason", "[events]") {
  EventFactory f("door", {"background", "pour"}, 41, 3);
  const nlohmann::json journaled = {{"id", "door-7"}, {"label", "pour"}, {"label_id", 1}, {"confidence", 0.8},
                                    {"start", {{"pts", 2.0}, {"time", "2026-11-21T22:30:00.000Z"}}},
                                    {"end", nullptr}, {"end_reason", nullptr}};
  const auto open = segment_from_json(journaled);
  REQUIRE(open);
  const FramePoint last{5.5, *parse_iso_time("2026-11-21T22:30:03.500Z")};
  const auto j = to_json(f.unfinished_end(*open, actiond::pipeline::ClockSource::ntp, last,
                                          actiond::config::EndReason::restart));
  CHECK(j["type"] == "segment.end");
  CHECK(j["seq"] == 42);
  CHECK(j["epoch"] == 3);
  CHECK(j["clock"] == "ntp");
  CHECK(j["time"] == "2026-11-21T22:30:03.500Z");
  CHECK(j["segment"]["label"] == "pour");
  CHECK(j["segment"]["end"]["pts"] == 5.5);
  CHECK(j["segment"]["end_reason"] == "restart");
  CHECK(j["segment"]["duration_s"] == 3.5);
  CHECK_FALSE(segment_from_json({{"id", "x"}}));
}

TEST_CASE("every event type and end reason has one name, read back as itself", "[events]") {
  using namespace actiond::config;
  for (const auto& [type, name] : kEventTypeNames) CHECK(parse_event_type(to_string(type)) == type);
  for (const auto& [reason, name] : kEndReasonNames) CHECK(parse_end_reason(to_string(reason)) == reason);
  CHECK_FALSE(parse_event_type("segment.begin"));
}
