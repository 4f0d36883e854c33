#pragma once
// Writes frames produced in memory to an H.264 MP4 file through GStreamer
// (appsrc -> videoconvert -> x264enc -> mp4mux -> filesink).
//
//   VideoWriter out("a.mp4", 320, 240, 25.0);    // throws std::runtime_error naming the file
//   out.write(rgb);                              // RGB24, width*height*3 bytes
//   out.finish();                                // EOS, waits for the file to be complete
//
// Thread-safety: one thread.
#include <cstdint>
#include <filesystem>
#include <memory>

namespace actiond::pipeline {

class VideoWriter {
 public:
  VideoWriter(const std::filesystem::path& path, int width, int height, double fps);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  void write(const std::uint8_t* rgb);
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace actiond::pipeline
