#pragma once
// A decoded GStreamer sample as a Frame, without copying its pixels.
#include "actiond/pipeline/frame.hpp"

#include <gst/gst.h>

#include <chrono>
#include <cstdint>
#include <optional>

namespace actiond::pipeline::detail {

// Takes ownership of `sample`: the Frame keeps it mapped until its last copy goes away. Frame time is
// the sample's NTP reference timestamp when it has one (RTSP), else now; pts is stream time in
// seconds. Returns nothing for a sample that cannot be mapped as video.
std::optional<Frame> frame_from_sample(GstSample* sample);

// The buffer's NTP reference timestamp (RTSP with RTCP sender reports) as wall-clock time, if any.
std::optional<std::chrono::system_clock::time_point> ntp_time(GstBuffer* buf);

// The running time (ns) of the sample's buffer in its segment; -1 when either is unknown.
std::int64_t running_time_ns(GstSample* sample);

// Where videoscale (add-borders) puts a picture of display aspect `aspect` (w/h) inside a width x
// height frame, centred: x, y, w, h as fractions of the frame. A full frame when aspect is unknown.
std::array<float, 4> letterbox_content(double aspect, int width, int height);

}  // namespace actiond::pipeline::detail
