#pragma once
// Model files on disk, for promote and roll back: a candidate installed in place of a model file
// (the file it replaces kept beside it as <file>.previous), the two swapped back, and a fingerprint
// that changes whenever a model file is replaced (so a reload sees a changed file at the same path).
// Every replacement is a rename: a reader sees the old file or the new one, never a part.
// Thread-safety: free functions on the file system; callers serialise changes (the supervisor).
#include "actiond/config/config.hpp"

#include <filesystem>
#include <string>

namespace actiond::daemon::detail {

// <file>.previous: the model a promote replaced (what rollback brings back).
std::filesystem::path previous_of(const std::filesystem::path& file);

// Size, modification time and inode: differs after any replacement of the file; "" if missing.
std::string fingerprint(const std::filesystem::path& file);

// Copies `candidate` next to `file` (synced), keeps `file` as <file>.previous, renames the copy over
// `file`. Throws std::runtime_error naming the path that failed.
void install_model(const std::filesystem::path& candidate, const std::filesystem::path& file);

// Swaps `file` and <file>.previous. Throws when there is no previous file.
void swap_with_previous(const std::filesystem::path& file);

// Whether `path` (made absolute and free of symlinks) lies inside `dir`.
bool inside(const std::filesystem::path& path, const std::filesystem::path& dir);
// "" when `candidate` may be promoted or tried (inside the model directory or teach.dir/candidates),
// else why not.
std::string outside_model_folders(const std::filesystem::path& candidate, const config::Config& cfg);

}  // namespace actiond::daemon::detail
