#pragma once
// JournalReader: follows one camera's journal forward from a seq, remembering the file and byte
// offset it has read to, so following the head costs only the new bytes. It moves to the next file
// once the writer has started one, and when the files it needed were deleted (retention), it
// resumes at the oldest event left and reports the seqs it could not read.
//
// Thread-safety: one thread per reader; any number of readers alongside the writer (files are
// append-only, and an incomplete last line is left for the next read).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace actiond::daemon {

class JournalReader {
 public:
  JournalReader(std::filesystem::path dir, std::string camera, std::uint64_t from);

  struct Event {
    std::uint64_t seq = 0;
    std::string line;  // the event's JSON, as journaled (no newline)
  };
  // Up to `max` events with seq >= next(), oldest first; next() moves past them.
  std::vector<Event> read(std::size_t max);
  std::uint64_t next() const { return next_; }
  // Events that were gone when this reader reached them (deleted by retention), and the last
  // range of them (first, last); zeros when none.
  std::uint64_t lost() const { return lost_; }
  std::pair<std::uint64_t, std::uint64_t> last_lost_range() const { return last_lost_; }
  const std::string& camera() const { return camera_; }

 private:
  bool open_file();  // the file holding next_ (or the oldest after it); false when there is none

  std::filesystem::path dir_;
  std::string camera_;
  std::uint64_t next_;
  std::filesystem::path file_;
  std::ifstream in_;
  std::streamoff offset_ = 0;  // start of the first line not read yet
  std::uint64_t lost_ = 0;
  std::pair<std::uint64_t, std::uint64_t> last_lost_{0, 0};
};

}  // namespace actiond::daemon
