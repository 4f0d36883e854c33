#pragma once
// EventIndex: a SQLite index of the journal's events, for the HTTP API's queries and live stream.
// The journal stays the source of truth; the index is a cache of it:
//   - one follower thread reads every camera's journal forward (JournalReader, from the seq after
//     the camera's newest indexed event) every `poll_s` and inserts what is new;
//   - rows whose journal files retention deleted are deleted too (checked every `prune_s`);
//   - an index that cannot be opened, has another schema version, or holds seqs past the camera's
//     journal (the journal was reset) is rebuilt from the journal.
// Rows carry the event as journaled plus the columns queries filter on (camera, type, label,
// segment id, time in ms since the Unix epoch: the frame's `time`, else `emitted_at`).
//
// Thread-safety: query()/segment_events()/newest_id()/counters may be called from any thread
// (each query opens its own read-only connection; the database is in WAL mode). The follower
// thread owns the write connection.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace actiond::daemon {

struct EventQuery {
  std::optional<std::string> camera;
  std::optional<std::string> type;     // exact type, or a prefix ending in '.' ("segment.")
  std::optional<std::string> label;
  std::optional<std::string> segment;  // segment id
  std::optional<std::int64_t> since_ms;  // event time >= since
  std::optional<std::int64_t> until_ms;  // event time < until
  std::optional<std::int64_t> after_id;  // index row id > after (live streams resume with it)
  std::optional<std::int64_t> until_id;  // index row id < until (paging back)
  int limit = 100;
  bool newest_first = true;
};

struct IndexedEvent {
  std::int64_t id = 0;  // index row id: increases in indexing order
  std::string camera;
  std::uint64_t seq = 0;
  std::string body;     // the event's JSON as journaled
};

class EventIndex {
 public:
  struct Options {
    std::filesystem::path journal_dir;
    std::filesystem::path db;  // e.g. <journal>/.index.sqlite3
    std::chrono::milliseconds poll{100};
    std::chrono::seconds prune{30};
  };
  // Opens (or rebuilds) the index and starts following. Throws std::runtime_error naming the file
  // when the database cannot be created at all.
  explicit EventIndex(Options options);
  ~EventIndex();
  EventIndex(const EventIndex&) = delete;
  EventIndex& operator=(const EventIndex&) = delete;

  // Throws std::runtime_error when the database cannot be read.
  std::vector<IndexedEvent> query(const EventQuery& q) const;
  std::int64_t newest_id() const { return newest_id_.load(); }
  std::uint64_t indexed() const { return indexed_.load(); }   // rows inserted by this process
  std::uint64_t rebuilds() const { return rebuilds_.load(); }
  std::uint64_t failures() const { return failures_.load(); }  // follower errors (logged)
  const Options& options() const { return opt_; }

 private:
  struct Writer;
  void run();

  Options opt_;
  std::unique_ptr<Writer> writer_;  // the follower thread's
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> newest_id_{0};
  std::atomic<std::uint64_t> indexed_{0};
  std::atomic<std::uint64_t> rebuilds_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::thread thread_;
};

// "2026-11-28T01:02:03.456Z" (or without fraction, or "+00:00") -> ms since the Unix epoch;
// nullopt when it is not such a UTC time.
std::optional<std::int64_t> parse_utc_ms(const std::string& text);

}  // namespace actiond::daemon
