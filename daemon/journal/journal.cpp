#include "actiond/daemon/journal/journal.hpp"

#include "actiond/config/event_kinds.hpp"
#include "actiond/config/log.hpp"
#include "journal_files.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <optional>
#include <unistd.h>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("journal"); }
}  // namespace

namespace fs = std::filesystem;

using detail::event_of;
using detail::event_of_json;
using detail::first_seq_of;
const auto& files_of = detail::journal_files;

Journal::Journal(JournalConfig cfg) : cfg_(std::move(cfg)) {
  std::error_code ec;
  fs::create_directories(cfg_.dir, ec);
  if (ec) throw std::runtime_error("journal directory " + cfg_.dir.string() + ": " + ec.message());
}

Journal::~Journal() {
  for (auto& [cam, f] : files_) {
    if (f.fd && cfg_.fsync != config::FsyncPolicy::none) ::fsync(f.fd.get());
    close_file(f);
  }
}

std::string Journal::open_new(const std::string& camera, std::uint64_t seq, File& f) {
  close_file(f);
  std::error_code ec;
  fs::create_directories(cfg_.dir / camera, ec);
  if (ec) return "cannot create " + (cfg_.dir / camera).string() + ": " + ec.message();
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.jsonl", static_cast<unsigned long long>(seq));
  f.path = cfg_.dir / camera / name;
  f.fd.reset(::open(f.path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!f.fd) return "cannot open " + f.path.string() + ": " + std::strerror(errno);
  const off_t end = ::lseek(f.fd.get(), 0, SEEK_END);
  f.bytes = end > 0 ? static_cast<std::uint64_t>(end) : 0;
  // A file left by a crash mid-line: end that line so the next event starts on its own (readers
  // skip the cut-off one).
  char last = '\n';
  if (end > 0 && ::pread(f.fd.get(), &last, 1, end - 1) == 1 && last != '\n' && ::write(f.fd.get(), "\n", 1) == 1) ++f.bytes;
  return {};
}

void Journal::close_file(File& f) {
  if (f.fd) {
    f.fd.reset();
    std::error_code ec;
    if (f.bytes == 0) fs::remove(f.path, ec);  // never leave empty files (they would count towards max_files)
  }
  f = File{};
}

void Journal::prune(const std::string& camera) {
  auto files = files_of(cfg_.dir, camera);
  const auto floor = cfg_.floors != nullptr ? cfg_.floors->floor(camera) : std::nullopt;
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& f : files) bytes += fs::file_size(f, ec);
  while (static_cast<int>(files.size()) > cfg_.max_files) {
    const std::uint64_t first = first_seq_of(files[0]);
    const std::uint64_t next = first_seq_of(files[1]);  // the front file holds [first, next)
    if (floor && *floor < next) {
      if (bytes <= cfg_.sink_backlog_max_bytes) break;  // a sink still needs it, and there is room
      const std::uint64_t from = std::max(first, *floor);
      sink_losses_ += next - from;
      logger().error("journal {}: {}: deleting seq {}..{} before every sink delivered them "
                     "(sink_backlog_max_mb reached)", cfg_.dir.string(), camera, from, next - 1);
    }
    const std::uint64_t size = fs::file_size(files.front(), ec);
    fs::remove(files.front(), ec);
    bytes -= std::min(bytes, ec ? 0 : size);
    files.erase(files.begin());
  }
}

std::optional<std::uint64_t> Journal::head(const std::string& camera) const {
  std::lock_guard lock(heads_mu_);
  const auto it = heads_.find(camera);
  if (it == heads_.end()) return std::nullopt;
  return it->second;
}

void RetentionFloors::register_sink(const std::string& sink) {
  std::lock_guard lock(mu_);
  sinks_.insert(sink);
}

void RetentionFloors::set(const std::string& sink, const std::string& camera, std::uint64_t next_seq) {
  std::lock_guard lock(mu_);
  next_[camera][sink] = next_seq;
}

std::optional<std::uint64_t> RetentionFloors::floor(const std::string& camera) const {
  std::lock_guard lock(mu_);
  if (sinks_.empty()) return std::nullopt;
  const auto it = next_.find(camera);
  std::uint64_t low = UINT64_MAX;
  for (const auto& sink : sinks_) {
    if (it == next_.end() || it->second.count(sink) == 0) return 0;  // no cursor yet: holds everything
    low = std::min(low, it->second.at(sink));
  }
  return low;
}

void Journal::count_failure(const std::string& camera, const std::string& what) {
  const std::uint64_t n = ++failures_;
  failing_ = true;
  if ((n & (n - 1)) == 0) {  // rate-limited: 1, 2, 4, 8, ...
    logger().error("journal {}: {}: {} ({} failures so far)", cfg_.dir.string(), camera, what, n);
  }
}

void Journal::supersede(const std::string& camera, std::uint64_t seq, File& f) {
  close_file(f);
  const fs::path aside = cfg_.dir / ".superseded" / camera;
  std::error_code ec;
  fs::remove_all(aside, ec);
  fs::create_directories(aside, ec);
  for (const auto& file : files_of(cfg_.dir, camera)) fs::rename(file, aside / file.filename(), ec);
  logger().warn("journal {}: {}: seq {} is not after the events journaled here (another host numbered the camera "
                "since); the older files are in {}", cfg_.dir.string(), camera, seq, aside.string());
  std::lock_guard lock(heads_mu_);
  heads_.erase(camera);
}

bool Journal::append(const std::string& camera, std::uint64_t seq, const std::string& body) {
  File& f = files_[camera];
  // A camera numbered on from somewhere else (cluster mode: another host's events came in between)
  // continues at a seq this journal already holds: what is here is set aside, never mixed in.
  if (const auto h = head(camera); h ? seq <= *h : !f.fd && seq <= last(cfg_.dir, camera).seq) supersede(camera, seq, f);
  if (!f.fd || f.bytes >= cfg_.max_file_bytes) {
    if (const std::string error = open_new(camera, seq, f); !error.empty()) {
      count_failure(camera, error);
      return false;
    }
  }
  std::string line = body;
  line += '\n';
  const ssize_t n = ::write(f.fd.get(), line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    const int err = n < 0 ? errno : ENOSPC;  // a short write: the device filled up mid-line
    // Cut the partial line off so the next event starts on a line of its own.
    const bool clean = n <= 0 || ::ftruncate(f.fd.get(), static_cast<off_t>(f.bytes)) == 0;
    count_failure(camera, std::string("write failed: ") + std::strerror(err));
    // A full device: retry this file (space may come back). Anything else: a new file next time.
    if (!clean || (err != ENOSPC && err != EDQUOT)) close_file(f);
    return false;
  }
  if (failing_) {
    failing_ = false;
    logger().warn("journal {}: {}: writing again ({} failures so far)", cfg_.dir.string(), camera, failures_.load());
  }
  if (f.bytes == 0) prune(camera);  // only a file holding an event displaces an old one
  f.bytes += line.size();
  f.dirty = true;
  {
    std::lock_guard lock(heads_mu_);
    heads_[camera] = seq;
  }
  if (cfg_.fsync == config::FsyncPolicy::always) {
    ::fdatasync(f.fd.get());
    f.dirty = false;
  }
  return true;
}

void Journal::sync() {
  if (cfg_.fsync != config::FsyncPolicy::batch) return;
  for (auto& [cam, f] : files_) {
    if (f.fd && f.dirty) {
      ::fdatasync(f.fd.get());
      f.dirty = false;
    }
  }
}

Journal::Last Journal::last(const fs::path& dir, const std::string& camera) { return tail(dir, camera).last; }


Journal::Tail Journal::tail(const fs::path& dir, const std::string& camera) {
  Tail t;
  bool have_last = false;
  const auto files = files_of(dir, camera);
  // Newest file first, until one holds a segment event (the latest one decides). Only line offsets
  // are kept, and lines are only parsed when they can matter (the journal writes compact JSON): a
  // camera idle for days costs a substring search per line, not a parse or a copy.
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    std::ifstream in(*it);
    std::vector<std::streamoff> lines;     // starts of complete lines (until a last event is known)
    std::vector<std::streamoff> segments;  // starts of lines that may be segment events
    std::streamoff start = 0;
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) break;  // no newline: an incomplete last line
      if (line.find("\"type\":\"segment.") != std::string::npos) segments.push_back(start);
      if (!have_last) lines.push_back(start);
      start = in.tellg();
    }
    auto line_at = [&](std::streamoff off) {
      in.clear();
      in.seekg(off);
      std::string line;
      std::getline(in, line);
      return line;
    };
    for (auto l = lines.rbegin(); !have_last && l != lines.rend(); ++l) {
      const auto last = nlohmann::json::parse(line_at(*l), nullptr, false);
      const auto e = event_of_json(last);
      if (!e) continue;
      have_last = true;
      t.last = *e;
      const auto pts = last.find("pts");
      t.pts = pts != last.end() && pts->is_number() ? pts->get<double>() : 0.0;
      for (const char* key : {"time", "emitted_at"}) {
        const auto v = last.find(key);
        if (v != last.end() && v->is_string()) {
          t.time = v->get<std::string>();
          break;
        }
      }
    }
    for (auto l = segments.rbegin(); l != segments.rend(); ++l) {
      auto j = nlohmann::json::parse(line_at(*l), nullptr, false);
      const auto type = config::event_type_of(j);
      if (!event_of_json(j) || !type || !config::is_segment_event(*type) || !j.contains("segment")) continue;
      if (*type != config::EventType::segment_end) t.open_segment_event = std::move(j);
      return t;
    }
  }
  return t;
}

std::vector<std::string> Journal::read(const fs::path& dir, const std::string& camera, std::uint64_t from,
                                       std::size_t max) {
  std::vector<std::string> out;
  auto files = files_of(dir, camera);
  for (std::size_t i = 0; i < files.size() && out.size() < max; ++i) {
    // Skip files that end before `from` (the next file starts after it).
    if (i + 1 < files.size() && first_seq_of(files[i + 1]) <= from) continue;
    std::ifstream in(files[i]);
    for (std::string line; out.size() < max && std::getline(in, line);) {
      if (in.eof()) break;
      const auto e = event_of(line);
      if (!e || e->seq < from) continue;
      out.push_back(std::move(line));
    }
  }
  return out;
}

std::vector<std::string> Journal::cameras(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && !name.empty() && name[0] != '.') out.push_back(name);  // .sinks holds cursors
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::uint64_t> Journal::first_seq(const fs::path& dir, const std::string& camera) {
  const auto files = detail::journal_files(dir, camera);
  if (files.empty()) return std::nullopt;
  return detail::first_seq_of(files.front());
}

}  // namespace actiond::daemon
