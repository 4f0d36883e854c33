#pragma once
// Helpers for tests that drive a CameraSource directly (no daemon): header-only, because the test
// support library does not link the pipeline.
#include "actiond/pipeline/frame_hub.hpp"
#include "actiond/pipeline/sources/camera_source.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <vector>

namespace actiond::test {

// Camera "cam" (handle 1) on a video file, analysed at `fps` into 32x32 frames.
inline pipeline::SourceOptions file_source(const std::filesystem::path& video, double fps, bool realtime) {
  pipeline::SourceOptions opt;
  opt.handle = 1;
  opt.camera.id = "cam";
  opt.camera.uri = "file://" + video.string();
  opt.camera.fps = fps;
  opt.camera.realtime = realtime;
  opt.width = opt.height = 32;
  return opt;
}

// Takes every item of `hub` and hands it to `on_item` until a status says the source ended (eos or
// failed) or `timeout` passes; returns whether it ended.
inline bool drain_until_end(pipeline::FrameHub& hub, const std::function<void(const pipeline::SourceItem&)>& on_item,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<pipeline::SourceItem> items;
  while (std::chrono::steady_clock::now() < deadline) {
    hub.wait(std::chrono::milliseconds(100));
    items.clear();
    hub.take(64, items);
    bool ended = false;
    for (const auto& it : items) {
      on_item(it);
      ended |= it.kind == pipeline::SourceItem::Kind::status &&
               (it.status.state == pipeline::StreamState::eos || it.status.state == pipeline::StreamState::failed);
    }
    if (ended) return true;
  }
  return false;
}

}  // namespace actiond::test
