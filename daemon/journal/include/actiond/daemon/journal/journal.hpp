#pragma once
// Journal: every event of every camera, appended as one JSON line before it is published, so a
// subscriber can replay what it missed and seq continues across daemon restarts.
//
// Layout: DIR/<camera>/<first seq, 20 digits>.jsonl (an append whose seq is not after the camera's
// last one moves the camera's files to DIR/.superseded/<camera>/ first); a file is closed and a new one started when it
// exceeds max_file_bytes; the oldest files beyond max_files are deleted, except those holding events
// a sink has not delivered yet (RetentionFloors), which are kept until the camera's files exceed
// sink_backlog_max_bytes: then they go too, and the loss is counted and logged with its seq range.
// fsync policy: "always" (after every event), "batch" (after each batch the publisher sends), "none".
//
// Thread-safety: append()/sync() belong to one thread (the publisher); failures() may be read from
// any thread. The static readers may run on any thread at the same time: files are append-only and
// an incomplete last line is ignored.
#include "actiond/config/config.hpp"
#include "actiond/config/unique_fd.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace actiond::daemon {

// What the sinks still need, per camera: the lowest seq some sink has not delivered. Sink threads
// set their cursors; the journal's writer asks for the floor before it deletes a file.
// Thread-safety: all methods, any thread.
class RetentionFloors {
 public:
  // A registered sink holds every event of a camera it has no cursor for yet.
  void register_sink(const std::string& sink);
  void set(const std::string& sink, const std::string& camera, std::uint64_t next_seq);
  // The lowest next seq over the registered sinks; nullopt when there are none.
  std::optional<std::uint64_t> floor(const std::string& camera) const;

 private:
  mutable std::mutex mu_;
  std::set<std::string> sinks_;
  std::map<std::string, std::map<std::string, std::uint64_t>> next_;  // camera -> sink -> next seq
};

struct JournalConfig {
  std::filesystem::path dir;
  config::FsyncPolicy fsync = config::FsyncPolicy::batch;
  std::uint64_t max_file_bytes = 64ull << 20;
  int max_files = 16;
  std::uint64_t sink_backlog_max_bytes = 4ull << 30;  // per camera
  const RetentionFloors* floors = nullptr;            // outlives the Journal; null: no sinks
};

class Journal {
 public:
  explicit Journal(JournalConfig cfg);  // creates the directory; throws std::runtime_error naming it
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends `body` (one JSON object, no newline) as event `seq` of `camera`. False on I/O failure
  // (counted and logged; the caller still publishes). A failed write leaves no partial line: on a
  // full device the same file is retried with the next event, otherwise a new file is opened.
  bool append(const std::string& camera, std::uint64_t seq, const std::string& body);
  void sync();  // "batch" policy: fsync files written since the last sync
  std::uint64_t failures() const { return failures_.load(); }  // any thread
  // Events deleted before every sink had delivered them (the disk bound forced it). Any thread.
  std::uint64_t sink_losses() const { return sink_losses_.load(); }
  // The seq of the last event appended for `camera` in this run (nullopt: none yet). Any thread.
  std::optional<std::uint64_t> head(const std::string& camera) const;
  const JournalConfig& config() const { return cfg_; }

  struct Last {
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;
  };
  // The last complete event recorded for `camera` (zeros when none).
  static Last last(const std::filesystem::path& dir, const std::string& camera);
  // What a camera's journal ends with, for a start after a crash.
  struct Tail {
    Last last;
    double pts = 0.0;        // of the last event
    std::string time;        // of the last event: its frame `time`, else `emitted_at`
    // The latest segment.start/update when no segment.end followed it: a segment the previous
    // run left open (killed, OOM, power loss). Null otherwise.
    nlohmann::json open_segment_event;
  };
  static Tail tail(const std::filesystem::path& dir, const std::string& camera);
  // Events of `camera` with seq >= from, oldest first, at most `max`.
  static std::vector<std::string> read(const std::filesystem::path& dir, const std::string& camera, std::uint64_t from,
                                       std::size_t max);
  // Cameras that have a journal.
  static std::vector<std::string> cameras(const std::filesystem::path& dir);
  // The first seq of the camera's oldest journal file (nullopt: no file): older events are gone.
  static std::optional<std::uint64_t> first_seq(const std::filesystem::path& dir, const std::string& camera);

 private:
  struct File {
    std::filesystem::path path;
    config::UniqueFd fd;
    std::uint64_t bytes = 0;  // complete lines only
    bool dirty = false;
  };
  std::string open_new(const std::string& camera, std::uint64_t seq, File& f);  // "" or why not
  void close_file(File& f);
  void supersede(const std::string& camera, std::uint64_t seq, File& f);  // moves the camera's files aside
  void prune(const std::string& camera);
  void count_failure(const std::string& camera, const std::string& what);

  JournalConfig cfg_;
  std::map<std::string, File> files_;
  std::atomic<std::uint64_t> failures_{0};  // read by status and metrics on other threads
  std::atomic<std::uint64_t> sink_losses_{0};
  mutable std::mutex heads_mu_;
  std::map<std::string, std::uint64_t> heads_;  // camera -> last appended seq
  bool failing_ = false;  // the last append failed
};

}  // namespace actiond::daemon
