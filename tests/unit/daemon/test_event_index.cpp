#include "actiond/daemon/api/event_index.hpp"
#include "actiond/daemon/journal/journal.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <thread>

using actiond::daemon::EventIndex;
using actiond::daemon::EventQuery;
using actiond::daemon::Journal;
using actiond::daemon::JournalConfig;
using actiond::daemon::parse_utc_ms;
using actiond::test::TempDir;

namespace {

std::string event(const std::string& camera, std::uint64_t seq, const std::string& type, const std::string& label = "",
                  int second = 0) {
  nlohmann::json j = {{"camera", camera}, {"seq", seq}, {"epoch", 1}, {"type", type},
                      {"emitted_at", "2026-11-28T01:00:00.000Z"}, {"time", "2026-11-28T01:00:" + std::string(second < 10 ? "0" : "") + std::to_string(second) + ".500Z"}};
  if (type.rfind("segment.", 0) == 0) j["segment"] = {{"id", camera + "-s" + label}, {"label", label}};
  if (type == "clip.ready") j["segment_id"] = camera + "-s" + label;
  return j.dump();
}

EventIndex::Options options(const TempDir& dir) {
  EventIndex::Options o;
  o.journal_dir = dir.path() / "journal";
  o.db = dir.path() / "journal" / ".index.sqlite3";
  o.poll = std::chrono::milliseconds(20);
  o.prune = std::chrono::seconds(0);
  return o;
}

bool wait_rows(const EventIndex& index, const EventQuery& q, std::size_t n) {
  for (int i = 0; i < 250; ++i) {
    if (index.query(q).size() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::uint64_t> seqs(const EventIndex& index, const EventQuery& q) {
  std::vector<std::uint64_t> out;
  for (const auto& e : index.query(q)) out.push_back(e.seq);
  return out;
}

}  // namespace

TEST_CASE("UTC times parse to ms since the epoch, anything else is refused", "[api]") {
  CHECK(parse_utc_ms("1970-01-01T00:00:01Z") == 1000);
  CHECK(parse_utc_ms("2026-11-28T01:02:03.456Z") == 1795827723456);
  CHECK(parse_utc_ms("2026-11-28T01:02:03.4+00:00") == 1795827723400);
  CHECK_FALSE(parse_utc_ms("2026-11-28T01:02:03"));
  CHECK_FALSE(parse_utc_ms("2026-11-28 01:02:03Z"));
  CHECK_FALSE(parse_utc_ms("2026-13-28T01:02:03Z"));
  CHECK_FALSE(parse_utc_ms("2026-11-28T01:02:03.Z"));
  CHECK_FALSE(parse_utc_ms("2026-11-28T01:02:03+01:00"));
}

TEST_CASE("the index follows the journal and answers filtered queries", "[api]") {
  TempDir dir;
  JournalConfig jc;
  jc.dir = dir.path() / "journal";
  Journal journal(jc);
  journal.append("door", 1, event("door", 1, "stream.status", "", 1));
  journal.append("door", 2, event("door", 2, "segment.start", "pour", 2));
  journal.append("yard", 1, event("yard", 1, "segment.start", "wipe", 3));
  journal.append("door", 3, event("door", 3, "segment.end", "pour", 4));
  journal.append("door", 4, event("door", 4, "clip.ready", "pour", 5));
  journal.sync();
  EventIndex index(options(dir));
  REQUIRE(wait_rows(index, {}, 5));
  EventQuery q;
  q.camera = "door";
  q.newest_first = false;
  CHECK(seqs(index, q) == std::vector<std::uint64_t>{1, 2, 3, 4});
  q.type = "segment.";
  CHECK(seqs(index, q) == std::vector<std::uint64_t>{2, 3});
  q.type = "segment.end";
  CHECK(seqs(index, q) == std::vector<std::uint64_t>{3});
  EventQuery by_label;
  by_label.label = "wipe";
  CHECK(index.query(by_label).size() == 1);
  EventQuery by_segment;
  by_segment.segment = "door-spour";
  by_segment.newest_first = false;
  CHECK(seqs(index, by_segment) == std::vector<std::uint64_t>{2, 3, 4});  // clip.ready included
  EventQuery window;
  window.since_ms = *parse_utc_ms("2026-11-28T01:00:02Z");
  window.until_ms = *parse_utc_ms("2026-11-28T01:00:04Z");
  CHECK(index.query(window).size() == 2);
  EventQuery newest;
  newest.limit = 2;
  const auto two = index.query(newest);
  REQUIRE(two.size() == 2);
  CHECK(two[0].id > two[1].id);
  EventQuery after;
  after.after_id = two[1].id;
  CHECK(index.query(after).size() == 1);

  // New events are indexed as they are journaled.
  journal.append("door", 5, event("door", 5, "heartbeat"));
  journal.sync();
  CHECK(wait_rows(index, {}, 6));
}

TEST_CASE("an unusable index or a reset journal is rebuilt from the journal", "[api]") {
  TempDir dir;
  const auto opt = options(dir);
  auto journal_of = [&](std::uint64_t events) {  // door's journal: heartbeats 1..events
    JournalConfig jc;
    jc.dir = opt.journal_dir;
    Journal journal(jc);
    for (std::uint64_t s = 1; s <= events; ++s) journal.append("door", s, event("door", s, "heartbeat"));
    journal.sync();
  };
  journal_of(4);
  {
    EventIndex index(opt);
    REQUIRE(wait_rows(index, {}, 4));
  }
  // The journal starts again (deleted by hand): two events; the index had seqs up to 4.
  std::filesystem::remove_all(opt.journal_dir / "door");
  journal_of(2);
  {
    EventIndex index(opt);
    CHECK(wait_rows(index, {}, 2));
    CHECK(index.rebuilds() == 0);
  }
  // A damaged database file is replaced.
  { std::ofstream(opt.db, std::ios::trunc) << "this is not a database"; }
  for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(opt.db.string() + suffix);
  EventIndex index(opt);
  CHECK(index.rebuilds() == 1);
  CHECK(wait_rows(index, {}, 2));
}

TEST_CASE("rows of events retention deleted from the journal go too", "[api]") {
  TempDir dir;
  const auto opt = options(dir);
  JournalConfig jc;
  jc.dir = opt.journal_dir;
  jc.max_file_bytes = 300;  // about two events per file
  jc.max_files = 2;
  Journal journal(jc);
  EventIndex index(opt);
  for (std::uint64_t s = 1; s <= 12; ++s) {
    journal.append("door", s, event("door", s, "heartbeat"));
    journal.sync();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  const auto first = Journal::first_seq(opt.journal_dir, "door");
  REQUIRE(first);
  REQUIRE(*first > 1);
  EventQuery all;
  all.newest_first = false;
  bool pruned = false;
  for (int i = 0; i < 250 && !pruned; ++i) {
    const auto rows = seqs(index, all);
    pruned = !rows.empty() && rows.front() == *first && rows.back() == 12;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(pruned);
}
