#pragma once
// Helpers for tests that drive a CameraSource directly (no daemon): header-only, because the test
// support library does not link the pipeline.
#include "actiond/pipeline/frame_hub.hpp"

#include <chrono>
#include <functional>
#include <vector>

namespace actiond::test {

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
