#include "actiond/tools/world_command.hpp"

#include "progress.hpp"

#include "actiond/pipeline/files/video_writer.hpp"
#include "actiond/pipeline/synthetic/workbench.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

namespace actiond::tools {

namespace fs = std::filesystem;

int run_world(const WorldOptions& opt, std::ostream& progress) {
  detail::Progress bar(progress);
  const fs::path root = opt.out;
  for (const char* sub : {"videos", "groundTruth", "splits"}) fs::create_directories(root / sub);
  const auto& labels = pipeline::WorkbenchWorld::labels();
  {
    std::ofstream mapping(root / "mapping.txt");
    for (std::size_t i = 0; i < labels.size(); ++i) mapping << i << " " << labels[i] << "\n";
  }
  const int test_videos = std::max(1, static_cast<int>(opt.videos * opt.test_fraction + 0.5));
  const int val_videos =
      std::min(std::max(0, opt.videos - test_videos - 1), static_cast<int>(opt.videos * opt.val_fraction + 0.5));
  const int train_videos = opt.videos - test_videos - val_videos;
  std::ofstream train(root / "splits" / "train.split1.bundle");
  std::ofstream val(root / "splits" / "val.split1.bundle");
  std::ofstream test(root / "splits" / "test.split1.bundle");
  std::map<std::string, long> frames_per_label;
  long total = 0;
  for (int v = 0; v < opt.videos; ++v) {
    char name[32];
    std::snprintf(name, sizeof(name), "wb_%03d", v);
    pipeline::WorkbenchOptions wo;
    wo.seed = opt.seed * 1000003ULL + static_cast<std::uint64_t>(v);
    wo.width = opt.width;
    wo.height = opt.height;
    wo.fps = opt.fps;
    wo.activities = opt.activities;
    pipeline::WorkbenchWorld world(wo);
    pipeline::VideoWriter writer(root / "videos" / (std::string(name) + ".mp4"), opt.width, opt.height, opt.fps);
    std::ofstream gt(root / "groundTruth" / (std::string(name) + ".txt"));
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(opt.width * opt.height * 3));
    long frames = 0;
    while (!world.finished()) {
      const int label = world.next_frame(rgb.data());
      writer.write(rgb.data());
      gt << labels[static_cast<std::size_t>(label)] << "\n";
      ++frames_per_label[labels[static_cast<std::size_t>(label)]];
      ++frames;
    }
    writer.finish();
    total += frames;
    (v < train_videos ? train : v < train_videos + val_videos ? val : test) << name << ".mp4\n";
    bar.item_done("world: " + std::to_string(v + 1) + "/" + std::to_string(opt.videos) + " videos, " +
                  std::to_string(total) + " frames");
  }
  bar.finish();
  for (const auto& [label, n] : frames_per_label) {
    progress << "  " << label << ": " << n << " frames (" << (100.0 * static_cast<double>(n) / static_cast<double>(total))
             << " %)\n";
  }
  return 0;
}

}  // namespace actiond::tools
