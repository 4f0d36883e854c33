#include "actiond/daemon/journal/journal.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>

using actiond::daemon::Journal;
using actiond::daemon::JournalConfig;
namespace fs = std::filesystem;

namespace {
std::string event(std::uint64_t seq, std::uint64_t epoch = 1) {
  return R"({"camera":"door","epoch":)" + std::to_string(epoch) + R"(,"seq":)" + std::to_string(seq) + "}";
}
}  // namespace

TEST_CASE("journal appends, reads from a seq, and reports the last event", "[journal]") {
  actiond::test::TempDir dir;
  {
    Journal j(JournalConfig{dir.path() / "j", actiond::config::FsyncPolicy::always, 1 << 20, 4});
    for (std::uint64_t s = 1; s <= 10; ++s) REQUIRE(j.append("door", s, event(s, s > 5 ? 2 : 1)));
    REQUIRE(j.append("yard", 1, event(1)));
  }
  const auto last = Journal::last(dir.path() / "j", "door");
  CHECK(last.seq == 10);
  CHECK(last.epoch == 2);
  const auto from7 = Journal::read(dir.path() / "j", "door", 7, 100);
  REQUIRE(from7.size() == 4);
  CHECK(from7.front() == event(7, 2));
  CHECK(Journal::read(dir.path() / "j", "door", 1, 3).size() == 3);
  CHECK(Journal::read(dir.path() / "j", "gate", 1, 3).empty());
  CHECK(Journal::cameras(dir.path() / "j") == std::vector<std::string>{"door", "yard"});
  CHECK(Journal::last(dir.path() / "j", "gate").seq == 0);
}

TEST_CASE("journal rotates by size, prunes old files, and reads across files", "[journal]") {
  actiond::test::TempDir dir;
  Journal j(JournalConfig{dir.path(), actiond::config::FsyncPolicy::batch, 100, 3});  // ~3 events per file
  for (std::uint64_t s = 1; s <= 30; ++s) REQUIRE(j.append("cam", s, event(s)));
  j.sync();
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path() / "cam")) files += e.path().extension() == ".jsonl";
  CHECK(files == 3);
  const auto all = Journal::read(dir.path(), "cam", 0, 1000);
  REQUIRE_FALSE(all.empty());
  CHECK(all.back() == event(30));
  // Contiguous from the oldest kept event.
  for (std::size_t i = 1; i < all.size(); ++i) {
    CHECK(nlohmann::json::parse(all[i])["seq"] == nlohmann::json::parse(all[i - 1])["seq"].get<int>() + 1);
  }
  CHECK(Journal::last(dir.path(), "cam").seq == 30);
}

TEST_CASE("journal ignores an incomplete last line (a crash mid-write)", "[journal]") {
  actiond::test::TempDir dir;
  {
    Journal j(JournalConfig{dir.path(), actiond::config::FsyncPolicy::none, 1 << 20, 4});
    j.append("cam", 1, event(1));
    j.append("cam", 2, event(2));
  }
  for (const auto& e : fs::directory_iterator(dir.path() / "cam")) {
    std::ofstream(e.path(), std::ios::app) << R"({"camera":"cam","seq":3)";  // no newline, cut short
  }
  CHECK(Journal::last(dir.path(), "cam").seq == 2);
  CHECK(Journal::read(dir.path(), "cam", 1, 10).size() == 2);
}

TEST_CASE("journal in a directory that cannot be created is a clear error", "[journal]") {
  actiond::test::TempDir dir;
  const auto file = dir.write("plain", "x");
  CHECK_THROWS_WITH(Journal(JournalConfig{file / "sub", actiond::config::FsyncPolicy::batch, 1 << 20, 4}),
                    Catch::StartsWith("journal directory " + (file / "sub").string() + ": "));
}

TEST_CASE("journal readers skip lines that are not events, whatever their JSON type", "[journal]") {
  actiond::test::TempDir dir;
  fs::create_directories(dir.path() / "cam");
  dir.write("cam/00000000000000000001.jsonl", event(1) + "\n[1,2]\n\"seq\"\n{\"seq\":\"2\"}\n{\"seq\":-3}\n{\"seq\":1e300}\n" +
                                                  "{\"seq\":4,\"epoch\":\"x\"}\nnot json\n" + event(5, 2) + "\n");
  const auto all = Journal::read(dir.path(), "cam", 0, 100);
  REQUIRE(all.size() == 3);
  CHECK(all[0] == event(1));
  CHECK(all[1] == R"({"seq":4,"epoch":"x"})");
  CHECK(all[2] == event(5, 2));
  CHECK(Journal::last(dir.path(), "cam").seq == 5);
  CHECK(Journal::last(dir.path(), "cam").epoch == 2);
}

TEST_CASE("journal on a full device: failures counted, no partial lines, no empty files, history kept", "[journal]") {
  actiond::test::TempDir dir;
  {
    Journal j(JournalConfig{dir.path(), actiond::config::FsyncPolicy::batch, 100, 2});  // ~3 events per file, 2 files kept
    for (std::uint64_t s = 1; s <= 6; ++s) REQUIRE(j.append("cam", s, event(s)));
    // The next file the journal opens (named by seq 7) is a device that is always full.
    fs::create_symlink("/dev/full", dir.path() / "cam" / "00000000000000000007.jsonl");
    for (std::uint64_t s = 7; s <= 20; ++s) CHECK_FALSE(j.append("cam", s, event(s)));
    CHECK(j.failures() == 14);
  }
  // Both files with events are still there: the failing file did not displace one.
  const auto kept = Journal::read(dir.path(), "cam", 0, 100);
  REQUIRE(kept.size() == 6);
  CHECK(kept.back() == event(6));
  CHECK(Journal::last(dir.path(), "cam").seq == 6);
}

TEST_CASE("journal continues a file cut mid-line on a line of its own", "[journal]") {
  actiond::test::TempDir dir;
  fs::create_directories(dir.path() / "cam");
  dir.write("cam/00000000000000000003.jsonl", event(3) + "\n" + R"({"camera":"cam","seq":4,"ep)");
  {
    // Seq 3 is the last complete event; a restart numbers from 4 and reopens the same file.
    Journal j(JournalConfig{dir.path(), actiond::config::FsyncPolicy::none, 1 << 20, 4});
    REQUIRE(j.append("cam", 4, event(4)));
  }
  const auto all = Journal::read(dir.path(), "cam", 0, 100);
  REQUIRE(all.size() == 2);
  CHECK(all[1] == event(4));
}

TEST_CASE("journal tail: the segment a killed run left open, across files, past lines that are not events",
          "[journal][restart]") {
  actiond::test::TempDir dir;
  auto seg = [](std::uint64_t seq, const std::string& type, const std::string& id) {
    return R"({"type":")" + type + R"(","seq":)" + std::to_string(seq) + R"(,"epoch":1,"pts":)" + std::to_string(seq) +
           R"(,"time":"t)" + std::to_string(seq) + R"(","segment":{"id":")" + id + R"("}})";
  };
  auto beat = [](std::uint64_t seq) {
    return R"({"type":"heartbeat","seq":)" + std::to_string(seq) + R"(,"epoch":1,"pts":9.5,"emitted_at":"e)" +
           std::to_string(seq) + R"("})";
  };
  const auto root = dir.path() / "j";
  {
    Journal j(JournalConfig{root, actiond::config::FsyncPolicy::none, 160, 100});  // ~1 event per file
    REQUIRE(j.append("door", 1, seg(1, "segment.start", "a")));
    REQUIRE(j.append("door", 2, seg(2, "segment.end", "a")));
    REQUIRE(j.append("door", 3, seg(3, "segment.start", "b")));
    REQUIRE(j.append("door", 4, seg(4, "segment.update", "b")));
    for (std::uint64_t s = 5; s <= 9; ++s) REQUIRE(j.append("door", s, beat(s)));
    REQUIRE(j.append("yard", 1, seg(1, "segment.start", "y")));
    REQUIRE(j.append("yard", 2, seg(2, "segment.end", "y")));
  }
  REQUIRE(std::distance(fs::directory_iterator(root / "door"), fs::directory_iterator{}) > 3);
  // A cut-off line at the end (a crash mid-write) and garbage are not events.
  for (const auto& e : fs::directory_iterator(root / "door")) {
    if (e.path().filename() == "00000000000000000009.jsonl") std::ofstream(e.path(), std::ios::app) << "not json\n{\"type\":\"segm";
  }
  const auto door = Journal::tail(root, "door");
  CHECK(door.last.seq == 9);
  CHECK(door.pts == 9.5);
  CHECK(door.time == "e9");  // no frame time: when it was emitted
  REQUIRE(door.open_segment_event.is_object());
  CHECK(door.open_segment_event["type"] == "segment.update");  // the latest word on segment b
  CHECK(door.open_segment_event["segment"]["id"] == "b");
  const auto yard = Journal::tail(root, "yard");
  CHECK(yard.last.seq == 2);
  CHECK(yard.time == "t2");
  CHECK(yard.open_segment_event.is_null());  // ended
  CHECK(Journal::tail(root, "gate").last.seq == 0);
}

TEST_CASE("a seq that is not after the journal's last sets the camera's files aside (cluster takeover)", "[journal]") {
  actiond::test::TempDir dir;
  const fs::path root = dir.path() / "j";
  {
    Journal j(JournalConfig{root, actiond::config::FsyncPolicy::always, 1 << 20, 4});
    for (std::uint64_t s = 1; s <= 6; ++s) REQUIRE(j.append("door", s, event(s)));
  }
  {
    // A later run numbers the camera on from 4 (another host published 1..3 of the cluster's log).
    Journal j(JournalConfig{root, actiond::config::FsyncPolicy::always, 1 << 20, 4});
    REQUIRE(j.append("door", 4, event(4, 2)));
    REQUIRE(j.append("door", 5, event(5, 2)));
    CHECK(*j.head("door") == 5);
    REQUIRE(j.append("door", 2, event(2, 3)));  // and once more within the same run
  }
  CHECK(Journal::last(root, "door").seq == 2);
  CHECK(Journal::last(root, "door").epoch == 3);
  CHECK(Journal::read(root, "door", 1, 100).size() == 1);
  const auto aside = Journal::read(root / ".superseded", "door", 1, 100);
  REQUIRE(aside.size() == 2);  // the last set aside: seq 4 and 5 of the second run
  CHECK(aside.front() == event(4, 2));
  CHECK(Journal::cameras(root) == std::vector<std::string>{"door"});
}
