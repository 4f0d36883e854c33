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
  auto j = f.from_tracker(start);
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
  end.segment.end_reason = "background";
  auto e = f.from_tracker(end);
  CHECK(e["seq"] == 2);
  CHECK(e["segment"]["end"]["pts"] == 15.0);
  CHECK(e["segment"]["end_reason"] == "background");

  StatusInfo info;
  info.state = "reconnecting";
  info.reason = "connection refused";
  info.attempt = 2;
  info.dropped["queue_full"] = 7;
  f.set_epoch(4);
  auto s = f.stream_status(info, 15.0);
  CHECK(s["type"] == "stream.status");
  CHECK(s["seq"] == 3);
  CHECK(s["epoch"] == 4);
  CHECK(s["state"] == "reconnecting");
  CHECK(s["attempt"] == 2);
  CHECK(s["dropped"]["queue_full"] == 7);
  CHECK(j["epoch"] == 0);
  CHECK(f.last_seq() == 3);
}
