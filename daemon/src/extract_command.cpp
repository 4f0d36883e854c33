#include "actiond/daemon/extract_command.hpp"

#include "actiond/models/models.hpp"
#include "actiond/pipeline/camera_source.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace actiond::daemon {

namespace fs = std::filesystem;

void write_npy(const std::string& path, const std::string& descr, const std::vector<long>& shape, const void* data,
               std::size_t bytes) {
  std::string dims;
  for (long d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error(path + ": cannot write");
  out.write("\x93NUMPY\x01\x00", 8);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char lenb[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  out.write(lenb, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error(path + ": write failed");
}

namespace {

void progress_bar(std::ostream& out, std::size_t done, std::size_t total, const std::string& name, long frames) {
  const int width = 30;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  out << "\rextract [" << std::string(static_cast<std::size_t>(filled), '#')
      << std::string(static_cast<std::size_t>(width - filled), ' ') << "] " << done << "/" << total << " " << name
      << " (" << frames << " frames)   " << std::flush;
}

}  // namespace

int run_extract(const ExtractOptions& opt, std::ostream& progress) {
  if (opt.model.empty() && opt.frames_size.empty()) throw std::runtime_error("extract needs --model and/or --frames WxH");
  std::unique_ptr<models::Backbone> backbone;
  int width = 0;
  int height = 0;
  if (!opt.model.empty()) {
    models::set_threads(opt.threads, 1);
    backbone = models::Backbone::load(opt.model);
    width = backbone->manifest().input_width;
    height = backbone->manifest().input_height;
  }
  if (!opt.frames_size.empty()) {
    int w = 0;
    int h = 0;
    if (std::sscanf(opt.frames_size.c_str(), "%dx%d", &w, &h) != 2 || w < 8 || h < 8) {
      throw std::runtime_error("--frames must be WxH, got \"" + opt.frames_size + "\"");
    }
    if (backbone && (w != width || h != height)) {
      throw std::runtime_error("--frames " + opt.frames_size + " differs from the model input " + std::to_string(width) +
                               "x" + std::to_string(height));
    }
    width = w;
    height = h;
  }
  std::vector<fs::path> videos;
  if (fs::is_directory(opt.videos)) {
    for (const auto& e : fs::directory_iterator(opt.videos)) {
      if (e.is_regular_file()) videos.push_back(e.path());
    }
  } else if (fs::is_regular_file(opt.videos)) {
    videos.push_back(opt.videos);
  } else {
    throw std::runtime_error(opt.videos + ": no such file or directory");
  }
  std::sort(videos.begin(), videos.end());
  fs::create_directories(opt.out);

  for (std::size_t v = 0; v < videos.size(); ++v) {
    const fs::path& video = videos[v];
    pipeline::FrameHub hub;
    pipeline::SourceOptions so;
    so.handle = 1;
    so.camera.id = "extract";
    so.camera.uri = "file://" + fs::absolute(video).string();
    so.camera.fps = opt.fps;
    so.camera.realtime = false;  // as fast as we consume, no drops
    so.camera.queue_frames = opt.batch * 2;
    so.width = width;
    so.height = height;
    pipeline::CameraSource source(so, hub);
    source.start();

    std::vector<float> features;
    std::vector<std::uint8_t> frames;
    std::vector<double> pts;
    std::vector<pipeline::SourceItem> items;
    std::vector<models::ImageView> batch;
    std::vector<float> out;
    bool done = false;
    std::string failure;
    auto last_report = std::chrono::steady_clock::now();
    while (!done) {
      hub.wait(std::chrono::milliseconds(100));
      items.clear();
      hub.take(static_cast<std::size_t>(opt.batch), items);
      batch.clear();
      for (const auto& it : items) {
        if (it.kind == pipeline::SourceItem::Kind::status) {
          if (it.status.state == "eos") done = true;
          if (it.status.state == "failed") {
            done = true;
            failure = it.status.reason;
          }
          continue;
        }
        const auto& f = it.frame;
        pts.push_back(f.pts);
        if (!opt.frames_size.empty()) {
          for (int y = 0; y < f.height; ++y) frames.insert(frames.end(), f.data + y * f.stride, f.data + y * f.stride + f.width * 3);
        }
        batch.push_back({f.data, f.width, f.height, f.stride});
      }
      if (backbone && !batch.empty()) {
        backbone->infer(batch, out);
        features.insert(features.end(), out.begin(), out.end());
      }
      const auto now = std::chrono::steady_clock::now();
      if (!batch.empty() && now - last_report > std::chrono::milliseconds(500)) {
        last_report = now;
        progress_bar(progress, v, videos.size(), video.filename().string(), static_cast<long>(pts.size()));
      }
    }
    source.stop();
    if (!failure.empty()) throw std::runtime_error(video.string() + ": " + failure);
    const std::string stem = (fs::path(opt.out) / video.stem()).string();
    const long n = static_cast<long>(pts.size());
    write_npy(stem + ".pts.npy", "<f8", {n}, pts.data(), pts.size() * sizeof(double));
    if (backbone) {
      const long d = backbone->manifest().feature_dim;
      write_npy(stem + ".features.npy", "<f4", {n, d}, features.data(), features.size() * sizeof(float));
    }
    if (!opt.frames_size.empty()) write_npy(stem + ".frames.npy", "|u1", {n, height, width, 3}, frames.data(), frames.size());
    progress_bar(progress, v + 1, videos.size(), video.filename().string(), n);
  }
  progress << "\n";
  return 0;
}

}  // namespace actiond::daemon
