#pragma once
// ClipRecorder: a camera's recent *compressed* video, kept so that a clip around a segment can be
// written without decoding or encoding. The camera's pipeline feeds it the parsed H.264/H.265
// access units from before the decoder (sources without a compressed stream, test:// and
// synthetic://, feed it a small low-resolution H.264 encoding instead; `ClipFile::encoded` says so).
//
// Memory: the packets of the last `keep_s` seconds (stream time), from the key frame before that,
// plus everything since the oldest pinned time (an open segment's start - pre); never more than
// `max_bytes`: past that the oldest packets go even if pinned (the clip is then `truncated`).
// A new connection (caps or timeline change) starts the ring again. Times are the camera's stream
// time (pts), or wall-clock seconds since the Unix epoch for a separate recording stream (RecordSource).
//
// Thread-safety: every method may be called from any thread (one mutex); write() runs a short
// GStreamer muxing pipeline on the calling thread and does not hold the mutex while it does.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace actiond::pipeline {

struct ClipSettings {
  double keep_s = 20.0;                     // kept while no segment is open (covers pre-roll + decision delay)
  std::size_t max_bytes = 64u << 20;        // hard bound of the ring's memory
};

struct ClipFile {
  std::filesystem::path file;
  double start_pts = 0.0;     // stream time of the clip's first frame (a key frame)
  double end_pts = 0.0;       // stream time of its last frame
  double duration_s = 0.0;
  std::uint64_t bytes = 0;
  std::string codec;          // "h264" or "h265"
  int width = 0;
  int height = 0;
  bool encoded = false;       // not the camera's own packets (a source without a compressed stream)
  bool truncated = false;     // the ring no longer held the start asked for
};

class ClipRecorder {
 public:
  explicit ClipRecorder(ClipSettings settings);
  ~ClipRecorder();
  ClipRecorder(const ClipRecorder&) = delete;
  ClipRecorder& operator=(const ClipRecorder&) = delete;

  // Keeps packets from `from_pts` on for `key` (a segment) until unpin(key).
  void pin(const std::string& key, double from_pts);
  void unpin(const std::string& key);
  // Stream time of the newest packet (nullopt: none since the last restart).
  std::optional<double> newest_pts() const;
  std::size_t bytes() const;   // memory held now
  std::uint64_t restarts() const;

  // Writes the packets covering [from_pts, to_pts] (from the key frame at or before from_pts) as
  // an MP4 at `file` (through `file`.partial, renamed when complete). Error text otherwise.
  std::variant<ClipFile, std::string> write(double from_pts, double to_pts, const std::filesystem::path& file) const;

  struct Ring;  // the GStreamer side (pipeline/src/clips)
  Ring& ring() { return *ring_; }

 private:
  std::unique_ptr<Ring> ring_;
};

// What a snapshot of a pose camera draws: the person's box (x0, y0, x1, y1) and keypoints (x, y,
// score), in fractions of the picture.
struct SnapshotOverlay {
  std::array<float, 4> box{};
  std::vector<std::array<float, 3>> keypoints;  // COCO order (17); those below 0.3 are not drawn
};

// Decodes the picture at `offset_s` into `clip` (an MP4 written by ClipRecorder), draws `overlay`
// when given, and writes it as a JPEG at `jpeg` (the clip's picture size). Error text otherwise.
// Any thread.
std::optional<std::string> write_snapshot(const std::filesystem::path& clip, double offset_s,
                                          const std::filesystem::path& jpeg,
                                          const std::optional<SnapshotOverlay>& overlay = std::nullopt);

}  // namespace actiond::pipeline
