#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/journal/journal_reader.hpp"
#include "actiond/daemon/sinks/sink_format.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using actiond::daemon::CameraState;
using actiond::daemon::Journal;
using actiond::daemon::JournalConfig;
using actiond::daemon::JournalReader;
using actiond::daemon::RetentionFloors;
using nlohmann::json;
namespace config = actiond::config;
namespace fs = std::filesystem;

namespace {

std::string event(std::uint64_t seq) {
  return R"({"camera":"door","epoch":1,"seq":)" + std::to_string(seq) + R"(,"type":"heartbeat"})";
}

std::vector<std::uint64_t> seqs(const std::vector<JournalReader::Event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

json segment(const std::string& type, const std::string& id, const std::string& label, std::uint64_t seq) {
  return json{{"type", type},
              {"camera", "door"},
              {"seq", seq},
              {"event_id", "door-x-" + std::to_string(seq)},
              {"emitted_at", "2026-11-27T10:00:00.000Z"},
              {"segment",
               {{"id", id},
                {"label", label},
                {"confidence", 0.9},
                {"start", {{"pts", 1.0}, {"time", "2026-11-27T10:00:00.000Z"}}},
                {"end", type == "segment.end" ? json{{"pts", 2.0}, {"time", "2026-11-27T10:00:01.000Z"}} : json(nullptr)},
                {"end_reason", type == "segment.end" ? json("background") : json(nullptr)}}}};
}

}  // namespace

TEST_CASE("journal reader follows the head across files and remembers its place", "[sinks][journal]") {
  actiond::test::TempDir dir;
  Journal j(JournalConfig{dir.path(), config::FsyncPolicy::none, 150, 100});  // ~3 events per file
  for (std::uint64_t s = 1; s <= 5; ++s) REQUIRE(j.append("door", s, event(s)));
  JournalReader r(dir.path(), "door", 0);  // 0: from the oldest kept
  CHECK(seqs(r.read(3)) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(seqs(r.read(100)) == std::vector<std::uint64_t>{4, 5});
  CHECK(r.read(100).empty());
  for (std::uint64_t s = 6; s <= 12; ++s) REQUIRE(j.append("door", s, event(s)));
  CHECK(seqs(r.read(100)) == std::vector<std::uint64_t>{6, 7, 8, 9, 10, 11, 12});
  CHECK(r.next() == 13);
  CHECK(r.lost() == 0);
  JournalReader from9(dir.path(), "door", 9);
  CHECK(seqs(from9.read(2)) == std::vector<std::uint64_t>{9, 10});
}

TEST_CASE("journal reader leaves a line the writer has not finished", "[sinks][journal]") {
  actiond::test::TempDir dir;
  fs::create_directories(dir.path() / "door");
  const fs::path file = dir.path() / "door" / "00000000000000000001.jsonl";
  {
    std::ofstream out(file);
    out << event(1) << "\n" << R"({"camera":"door","seq":2,"ty)";
  }
  JournalReader r(dir.path(), "door", 1);
  CHECK(seqs(r.read(10)) == std::vector<std::uint64_t>{1});
  {
    std::ofstream out(file, std::ios::app);
    out << R"(pe":"heartbeat"})" << "\n";
  }
  CHECK(seqs(r.read(10)) == std::vector<std::uint64_t>{2});
}

TEST_CASE("retention keeps what a sink has not delivered, up to the disk bound, then counts the loss", "[sinks][journal]") {
  actiond::test::TempDir dir;
  RetentionFloors floors;
  floors.register_sink("hook");
  CHECK(floors.floor("door") == 0u);  // no cursor yet: holds everything
  JournalConfig cfg{dir.path(), config::FsyncPolicy::none, 150, 2};
  cfg.floors = &floors;
  cfg.sink_backlog_max_bytes = 1000;
  Journal j(cfg);
  for (std::uint64_t s = 1; s <= 12; ++s) REQUIRE(j.append("door", s, event(s)));
  JournalReader r(dir.path(), "door", 1);
  CHECK(r.read(1).front().seq == 1);  // nothing pruned: the sink has not delivered seq 1
  CHECK(j.sink_losses() == 0);
  CHECK(j.head("door") == 12u);

  floors.set("hook", "door", 7);  // delivered up to 6: files before seq 7 may go
  for (std::uint64_t s = 13; s <= 15; ++s) REQUIRE(j.append("door", s, event(s)));
  JournalReader after(dir.path(), "door", 0);
  CHECK(after.read(1).front().seq <= 7);
  CHECK(j.sink_losses() == 0);

  // The sink stops; the journal grows past the bound: the oldest undelivered files go, counted.
  for (std::uint64_t s = 16; s <= 60; ++s) REQUIRE(j.append("door", s, event(s)));
  CHECK(j.sink_losses() > 0);
  JournalReader lagging(dir.path(), "door", 7);
  const auto got = lagging.read(1000);
  REQUIRE_FALSE(got.empty());
  CHECK(got.front().seq > 7);
  CHECK(got.back().seq == 60);
  CHECK(lagging.lost() == got.front().seq - 7);
  CHECK(lagging.last_lost_range().first == 7);
}

TEST_CASE("sink filters and the frigate shape", "[sinks]") {
  config::SinkFilter f;
  const json start = segment("segment.start", "s1", "pour", 3);
  CHECK(actiond::daemon::sink_accepts(f, start));
  f.labels = {"stir"};
  CHECK_FALSE(actiond::daemon::sink_accepts(f, start));
  f.labels = {"pour"};
  CHECK(actiond::daemon::sink_accepts(f, start));
  CHECK_FALSE(actiond::daemon::sink_accepts(f, json{{"type", "heartbeat"}, {"camera", "door"}}));  // no label
  f = {};
  f.cameras = {"yard"};
  CHECK_FALSE(actiond::daemon::sink_accepts(f, start));
  f = {};
  f.types = {actiond::config::EventType::segment_end};
  CHECK_FALSE(actiond::daemon::sink_accepts(f, start));

  CHECK(*actiond::daemon::sink_payload(config::SinkFormat::event, start, "LINE") == "LINE");
  const json end = segment("segment.end", "s1", "pour", 4);
  const json frig = json::parse(*actiond::daemon::sink_payload(config::SinkFormat::frigate, end, end.dump()));
  CHECK(frig == json{{"type", "end"}, {"camera", "door"}, {"id", "s1"}, {"label", "pour"}, {"score", 0.9},
                     {"start_time", "2026-11-27T10:00:00.000Z"}, {"end_time", "2026-11-27T10:00:01.000Z"},
                     {"end_reason", "background"}, {"seq", 4}, {"event_id", "door-x-4"}});
  CHECK_FALSE(actiond::daemon::sink_payload(config::SinkFormat::frigate, json{{"type", "boundary"}}, "x"));
}

TEST_CASE("camera state: the newest open segment is the action, idle when none", "[sinks]") {
  CameraState st;
  CHECK_FALSE(st.apply(json{{"type", "boundary"}}));
  CHECK((*st.apply(segment("segment.start", "a", "walk", 1)))["action"] == "walk");
  CHECK((*st.apply(segment("segment.start", "b", "wave", 2)))["action"] == "wave");  // a second person
  const json after_b = *st.apply(segment("segment.end", "b", "wave", 3));
  CHECK(after_b["action"] == "walk");
  CHECK(after_b["open_segments"] == 1);
  CHECK(after_b["open_labels"] == json::array({"walk"}));
  CHECK((*st.apply(segment("segment.update", "a", "walk", 4)))["action"] == "walk");
  const json idle = *st.apply(segment("segment.end", "a", "walk", 5));
  CHECK(idle["action"] == "idle");
  CHECK(idle["seq"] == 5);
  CHECK(idle["open_labels"] == json::array());
}

TEST_CASE("home assistant discovery: a sensor of the action and a binary sensor per label", "[sinks]") {
  config::SinkConfig cfg;
  cfg.name = "ha";
  cfg.prefix = "actiond";
  const auto msgs = actiond::daemon::ha_discovery(cfg, "front.door", {"pour", "stir"});
  REQUIRE(msgs.size() == 3);
  CHECK(msgs[0].topic == "homeassistant/sensor/actiond_front_door/action/config");
  CHECK(msgs[0].payload["state_topic"] == "actiond/front.door/state");
  CHECK(msgs[0].payload["value_template"] == "{{ value_json.action }}");
  CHECK(msgs[0].payload["availability_topic"] == "actiond/availability");
  CHECK(msgs[1].topic == "homeassistant/binary_sensor/actiond_front_door/pour/config");
  CHECK(msgs[1].payload["value_template"] == "{{ 'ON' if 'pour' in value_json.open_labels else 'OFF' }}");
  CHECK(msgs[1].payload["unique_id"] == "actiond_ha_front_door_label_pour");
  CHECK_FALSE(msgs[1].payload.contains("device_class"));
}

TEST_CASE("home assistant discovery: a fall model's camera gets a person-down safety sensor", "[sinks]") {
  config::SinkConfig cfg;
  cfg.name = "ha";
  cfg.prefix = "actiond";
  const auto msgs = actiond::daemon::ha_discovery(cfg, "ward3", {"falling", "lying"});
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[3].topic == "homeassistant/binary_sensor/actiond_ward3/person_down/config");
  CHECK(msgs[3].payload["device_class"] == "safety");
  CHECK(msgs[3].payload["unique_id"] == "actiond_ha_ward3_person_down");
  CHECK(msgs[3].payload["value_template"] ==
        "{{ 'ON' if 'falling' in value_json.open_labels or 'lying' in value_json.open_labels else 'OFF' }}");
  CHECK(msgs[3].payload["json_attributes_topic"] == "actiond/ward3/state");
}

TEST_CASE("webhook signature is HMAC-SHA256 in hex", "[sinks]") {
  // RFC 4231 test case 2.
  CHECK(actiond::daemon::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
