#include "actiond/daemon/journal.hpp"

#include "actiond/config/log.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace actiond::daemon {

namespace {
spdlog::logger& logger() { return config::module_log("journal"); }
}  // namespace

namespace fs = std::filesystem;

namespace {

// Journal files of a camera, oldest first (names sort by their first seq).
std::vector<fs::path> files_of(const fs::path& dir, const std::string& camera) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / camera, ec)) {
    if (e.path().extension() == ".jsonl") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t first_seq_of(const fs::path& file) {
  try {
    return std::stoull(file.stem().string());
  } catch (...) {
    return 0;
  }
}

}  // namespace

Journal::Journal(JournalConfig cfg) : cfg_(std::move(cfg)) {
  std::error_code ec;
  fs::create_directories(cfg_.dir, ec);
  if (ec) throw std::runtime_error("journal directory " + cfg_.dir.string() + ": " + ec.message());
}

Journal::~Journal() {
  for (auto& [cam, f] : files_) {
    if (f.fd >= 0) {
      if (cfg_.fsync != "none") ::fsync(f.fd);
      ::close(f.fd);
    }
  }
}

bool Journal::open_new(const std::string& camera, std::uint64_t seq, File& f) {
  if (f.fd >= 0) ::close(f.fd);
  f = File{};
  std::error_code ec;
  fs::create_directories(cfg_.dir / camera, ec);
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.jsonl", static_cast<unsigned long long>(seq));
  const fs::path path = cfg_.dir / camera / name;
  f.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (f.fd < 0) return false;
  f.bytes = static_cast<std::uint64_t>(::lseek(f.fd, 0, SEEK_END));
  prune(camera);
  return true;
}

void Journal::prune(const std::string& camera) {
  auto files = files_of(cfg_.dir, camera);
  while (static_cast<int>(files.size()) > cfg_.max_files) {
    std::error_code ec;
    fs::remove(files.front(), ec);
    files.erase(files.begin());
  }
}

void Journal::count_failure(const std::string& camera, const std::string& what) {
  const std::uint64_t n = ++failures_;
  if ((n & (n - 1)) == 0) {  // rate-limited: 1, 2, 4, 8, ...
    logger().error("journal {}: {}: {} ({} failures so far)", cfg_.dir.string(), camera, what, n);
  }
}

bool Journal::append(const std::string& camera, std::uint64_t seq, const std::string& body) {
  File& f = files_[camera];
  if (f.fd < 0 || f.bytes >= cfg_.max_file_bytes) {
    if (!open_new(camera, seq, f)) {
      count_failure(camera, std::string("cannot open a file: ") + std::strerror(errno));
      return false;
    }
  }
  std::string line = body;
  line += '\n';
  const ssize_t n = ::write(f.fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    count_failure(camera, std::string("write failed: ") + (n < 0 ? std::strerror(errno) : "short write"));
    ::close(f.fd);
    f.fd = -1;  // reopen next time (e.g. after the disk got space again)
    return false;
  }
  f.bytes += line.size();
  f.dirty = true;
  if (cfg_.fsync == "always") {
    ::fdatasync(f.fd);
    f.dirty = false;
  }
  return true;
}

void Journal::sync() {
  if (cfg_.fsync != "batch") return;
  for (auto& [cam, f] : files_) {
    if (f.fd >= 0 && f.dirty) {
      ::fdatasync(f.fd);
      f.dirty = false;
    }
  }
}

Journal::Last Journal::last(const fs::path& dir, const std::string& camera) {
  auto files = files_of(dir, camera);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    std::ifstream in(*it);
    Last last;
    bool found = false;
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) break;  // no newline: an incomplete last line
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("seq")) continue;
      last.seq = j.value("seq", 0ull);
      last.epoch = j.value("epoch", 0ull);
      found = true;
    }
    if (found) return last;
  }
  return {};
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
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || j.value("seq", 0ull) < from) continue;
      out.push_back(std::move(line));
    }
  }
  return out;
}

std::vector<std::string> Journal::cameras(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace actiond::daemon
