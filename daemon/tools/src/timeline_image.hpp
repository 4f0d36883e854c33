#pragma once
// Private to the tools: a picture of segmentations, per video a ground-truth row above the
// prediction's (one colour per class, background dark), written as a PNG (zlib, no other library).
//
// Thread-safety: pure function.
#include <filesystem>
#include <string>
#include <vector>

namespace actiond::tools {

struct TimelineRow {
  std::vector<int> truth;
  std::vector<int> predicted;
};

// Throws std::runtime_error naming the file when it cannot be written.
void write_timeline_png(const std::filesystem::path& file, const std::vector<TimelineRow>& videos, int background,
                        int width = 1200);

}  // namespace actiond::tools
