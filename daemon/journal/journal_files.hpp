#pragma once
// How journal files are named and read, shared by the writer and the readers (internal).
#include "actiond/daemon/journal/journal.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace actiond::daemon::detail {

// Journal files of a camera, oldest first (names sort by their first seq).
inline std::vector<std::filesystem::path> journal_files(const std::filesystem::path& dir, const std::string& camera) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir / camera, ec)) {
    if (e.path().extension() == ".jsonl") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The seq (and epoch) of a journal line; nullopt when the line is not a complete event (garbage,
// a cut-off write, a hand edit): readers skip such lines.
inline std::optional<Journal::Last> event_of_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;  // also the discarded (unparsable) value
  const auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned()) return std::nullopt;
  const auto epoch = j.find("epoch");
  return Journal::Last{seq->get<std::uint64_t>(),
                       epoch != j.end() && epoch->is_number_unsigned() ? epoch->get<std::uint64_t>() : 0};
}

inline std::optional<Journal::Last> event_of(const std::string& line) {
  return event_of_json(nlohmann::json::parse(line, nullptr, false));
}

// The first seq of a file, from its name (0 when the name is not a number).
inline std::uint64_t first_seq_of(const std::filesystem::path& file) {
  try {
    return std::stoull(file.stem().string());
  } catch (...) {
    return 0;
  }
}

}  // namespace actiond::daemon::detail
