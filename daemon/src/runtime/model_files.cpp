#include "runtime/model_files.hpp"

#include "actiond/config/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace actiond::daemon::detail {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

void fsync_path(const fs::path& path, int flags) {
  const config::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) fail("cannot sync", path);
}

// A synced copy of `from` at `to` (replaced if present).
void copy_synced(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw std::runtime_error("cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  fsync_path(to, O_RDONLY);
}

void rename_or_throw(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail("cannot rename " + from.string() + " to", to);
}

}  // namespace

fs::path previous_of(const fs::path& file) { return fs::path(file.string() + ".previous"); }

std::string fingerprint(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

void install_model(const fs::path& candidate, const fs::path& file) {
  const fs::path next(file.string() + ".next");
  copy_synced(candidate, next);
  if (fs::exists(file)) {
    const fs::path keep(file.string() + ".keep");
    copy_synced(file, keep);
    rename_or_throw(keep, previous_of(file));
  }
  rename_or_throw(next, file);
  fsync_path(file.parent_path(), O_RDONLY | O_DIRECTORY);
}

void swap_with_previous(const fs::path& file) {
  const fs::path previous = previous_of(file);
  if (!fs::exists(previous)) throw std::runtime_error("no previous model kept for " + file.string());
  const fs::path swap(file.string() + ".swap");
  rename_or_throw(file, swap);
  rename_or_throw(previous, file);
  rename_or_throw(swap, previous);
  fsync_path(file.parent_path(), O_RDONLY | O_DIRECTORY);
}

bool inside(const fs::path& path, const fs::path& dir) {
  std::error_code ec;
  const fs::path p = fs::weakly_canonical(path, ec);
  const fs::path d = fs::weakly_canonical(dir, ec);
  if (ec) return false;
  const auto rel = p.lexically_relative(d);
  return !rel.empty() && *rel.begin() != ".." && rel != ".";
}

std::string outside_model_folders(const fs::path& candidate, const config::Config& cfg) {
  const fs::path candidates = cfg.daemon.teach.dir / "candidates";
  if (inside(candidate, cfg.daemon.model_dir) || inside(candidate, candidates)) return "";
  return candidate.string() + ": outside the model directory " + cfg.daemon.model_dir.string() +
         " and the training candidates " + candidates.string() + " (copy it there first)";
}

}  // namespace actiond::daemon::detail
