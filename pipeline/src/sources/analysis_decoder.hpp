#pragma once
// The analysis-grade H.264 path of a camera (camera key "decoder": "analysis").
//
//   parsed H.264 access units (byte-stream, from the camera's appsink)
//     -> libavcodec h264: no deblocking filter (skip_loop_filter), AV_CODEC_FLAG2_FAST, and a
//        non-reference frame that the analysis rate will not select is not decoded at all
//     -> the analysis rate (at most `fps`, like videorate drop-only, by running time)
//     -> one fused crop + scale + colour conversion (swscale) from the decoder's own YUV planes
//        straight into the model's RGB input (letterboxed when asked)
//
// The model reads 64x64 (backbone) or 192-384 px (pose): full-quality decoding, a copy of every
// decoded frame and a full-resolution colour conversion buy it nothing.
//
// Owner: the CameraGraph of one connection. Not thread-safe: every call comes from the appsink's
// streaming thread (GStreamer serialises them); the counters are atomics for the supervisor.
#include "actiond/config/config.hpp"
#include "actiond/pipeline/frame.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>

struct AVCodecContext;
struct AVFrame;
struct AVPacket;
struct SwsContext;

namespace actiond::pipeline::detail {

// Frees each libav object with its own function (analysis_decoder.cpp).
struct LibavFree {
  void operator()(AVCodecContext* p) const;
  void operator()(AVFrame* p) const;
  void operator()(AVPacket* p) const;
  void operator()(SwsContext* p) const;
};

struct AnalysisOutput {
  int width = 0;       // the model's input
  int height = 0;
  bool letterbox = false;  // keep the picture's aspect, black borders (pose models)
  config::RoiConfig roi;   // crop before scaling (width 0 = whole frame)
  double fps = 5.0;        // analysis rate
  int threads = 1;         // decoder threads (0 = libavcodec's choice)
};

// One access unit as it leaves the parser.
struct AccessUnit {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::int64_t running_ns = -1;  // pipeline running time of its presentation (-1: unknown)
  std::int64_t duration_ns = -1; // how long it is shown (-1: unknown: then it is always decoded)
  double stream_pts = 0.0;       // stream time, seconds (Frame::pts)
  std::optional<std::chrono::system_clock::time_point> ntp;  // RTCP/NTP capture time, when known
  bool key = false;
};

class AnalysisDecoder {
 public:
  // Throws std::runtime_error naming the camera when libavcodec has no H.264 decoder.
  AnalysisDecoder(std::string camera, AnalysisOutput out);
  ~AnalysisDecoder();
  AnalysisDecoder(const AnalysisDecoder&) = delete;
  AnalysisDecoder& operator=(const AnalysisDecoder&) = delete;

  // A new segment (seek, loop, reconnect): references and the rate start again.
  void flush();
  // End of stream: the pictures the decoder still holds (reordering) come out, then a flush.
  void drain(const std::function<void(Frame&&, std::int64_t running_ns)>& emit);
  // Decodes one unit; `emit` gets every frame the analysis rate selects, already at the model's
  // size, with its running time (ns, -1 unknown).
  using Emit = std::function<void(Frame&&, std::int64_t running_ns)>;
  void decode(const AccessUnit& unit, const Emit& emit);

  // The last decoded picture size (0 before the first) and aspect of what is scaled.
  int picture_width() const { return picture_width_.load(); }
  int picture_height() const { return picture_height_.load(); }

  // Counters (any thread).
  std::uint64_t decoded() const { return decoded_.load(); }        // pictures out of the decoder
  std::uint64_t not_decoded() const { return not_decoded_.load(); }  // non-reference units skipped
  std::uint64_t rate_drops() const { return rate_drops_.load(); }  // decoded, not selected
  std::uint64_t errors() const { return errors_.load(); }          // units the decoder refused, corrupt pictures

 private:
  std::int64_t slot(std::int64_t running_ns) const;  // the rate's slot of a time
  bool selects(std::int64_t running_ns) const;  // would the analysis rate take a picture at this time?
  void take(std::int64_t running_ns);           // ... and it did
  bool wanted(const AccessUnit& unit) const;    // before decoding: can this unit be taken?
  void receive(const Emit& emit);
  std::optional<Frame> convert(const AVFrame& picture);

  struct Pending {  // what the container said about a unit, found again by its running time
    std::int64_t running_ns;
    double stream_pts;
    std::optional<std::chrono::system_clock::time_point> ntp;
  };

  std::string camera_;
  AnalysisOutput out_;
  std::int64_t period_ns_;
  std::unique_ptr<AVCodecContext, LibavFree> ctx_;
  std::unique_ptr<AVFrame, LibavFree> picture_;
  std::unique_ptr<AVPacket, LibavFree> packet_;
  std::unique_ptr<SwsContext, LibavFree> sws_;
  std::deque<Pending> pending_;
  std::int64_t origin_ns_ = -1;    // the rate's grid origin: the first unit's running time (-1: none yet)
  std::int64_t last_slot_ = std::numeric_limits<std::int64_t>::min();  // the last slot served
  bool waiting_for_key_ = true;    // joined mid-stream: nothing decodes before a key frame
  std::atomic<int> picture_width_{0};
  std::atomic<int> picture_height_{0};
  std::atomic<std::uint64_t> decoded_{0};
  std::atomic<std::uint64_t> not_decoded_{0};
  std::atomic<std::uint64_t> rate_drops_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace actiond::pipeline::detail
