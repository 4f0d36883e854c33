#include "actiond/daemon/journal/journal_reader.hpp"

#include "journal_files.hpp"

namespace actiond::daemon {

namespace fs = std::filesystem;

JournalReader::JournalReader(fs::path dir, std::string camera, std::uint64_t from)
    : dir_(std::move(dir)), camera_(std::move(camera)), next_(from) {}

bool JournalReader::open_file() {
  const auto files = detail::journal_files(dir_, camera_);
  if (files.empty()) return false;
  // The newest file starting at or before next_; else the oldest (what came before it is gone).
  std::size_t pick = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (detail::first_seq_of(files[i]) <= next_) pick = i;
  }
  const std::uint64_t first = detail::first_seq_of(files[pick]);
  if (next_ == 0) next_ = first;  // a new reader starts at the oldest event kept
  in_.close();
  in_.clear();
  in_.open(files[pick], std::ios::binary);
  if (!in_) return false;
  file_ = files[pick];
  offset_ = 0;
  return true;
}

std::vector<JournalReader::Event> JournalReader::read(std::size_t max) {
  std::vector<Event> out;
  if (file_.empty() && !open_file()) return out;
  for (int hops = 0; out.size() < max && hops < 64; ++hops) {
    in_.clear();
    in_.seekg(offset_);
    if (!in_.is_open() || !in_) {
      file_.clear();
      if (!open_file()) return out;
      continue;
    }
    std::string line;
    while (out.size() < max && std::getline(in_, line)) {
      if (in_.eof()) break;  // no newline yet: the writer is mid-line; read it next time
      offset_ = in_.tellg();
      const auto e = detail::event_of(line);
      if (!e || e->seq < next_) continue;
      if (e->seq > next_) {  // deleted by retention before we got here, or a write that failed
        lost_ += e->seq - next_;
        last_lost_ = {next_, e->seq - 1};
      }
      next_ = e->seq + 1;
      out.push_back({e->seq, std::move(line)});
    }
    if (out.size() >= max) break;
    // At the end of this file: move on only when the writer has started a later one.
    const auto files = detail::journal_files(dir_, camera_);
    const auto it = std::upper_bound(files.begin(), files.end(), file_);
    if (it == files.end()) break;
    // A partial last line of a closed file is a cut-off write: skipped with it.
    in_.close();
    in_.clear();
    in_.open(*it, std::ios::binary);
    file_ = *it;
    offset_ = 0;
  }
  return out;
}

}  // namespace actiond::daemon
