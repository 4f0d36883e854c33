// libFuzzer harness: the journal readers (scripts/fuzz.sh). Input: the bytes of a camera's journal
// files, split at NUL bytes into up to 4 files (named by first seq 1, 11, 21, 31). Journal::last,
// Journal::read and Journal::cameras must not crash or throw, and must agree: every line read is a
// JSON object whose unsigned "seq" is >= from, and a non-zero last().seq is among the lines read.
// Runs at ~1000/s: every input writes and reads real files.
#include "actiond/daemon/journal/journal.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using actiond::daemon::Journal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fs::path dir = [] {
    char tmpl[] = "/tmp/actiond-journal-fuzz-XXXXXX";
    return fs::path(::mkdtemp(tmpl));
  }();
  fs::remove_all(dir / "cam");
  fs::create_directories(dir / "cam");
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t begin = 0;
  for (int file = 0; file < 4 && begin <= input.size(); ++file) {
    const std::size_t end = file == 3 ? input.size() : std::min(input.find('\0', begin), input.size());
    char name[32];
    std::snprintf(name, sizeof(name), "%020d.jsonl", 1 + 10 * file);
    std::ofstream(dir / "cam" / name, std::ios::binary) << input.substr(begin, end - begin);
    begin = end + 1;
  }
  const std::uint64_t from = size % 40;
  const auto lines = Journal::read(dir, "cam", from, 1000);
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j["seq"].is_number_unsigned() || j["seq"].get<std::uint64_t>() < from) std::abort();
  }
  const auto last = Journal::last(dir, "cam");
  if (last.seq != 0) {
    bool seen = false;
    // From 0: read() trusts file names (file N starts at seq N) to skip files, and the fuzzer's
    // files need not keep that promise.
    for (const auto& line : Journal::read(dir, "cam", 0, 100000)) {
      seen = seen || nlohmann::json::parse(line)["seq"].get<std::uint64_t>() == last.seq;
    }
    if (!seen) std::abort();
  }
  if (Journal::cameras(dir) != std::vector<std::string>{"cam"}) std::abort();
  return 0;
}
