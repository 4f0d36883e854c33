#include "sources/analysis_decoder.hpp"

#include "sources/sample_frame.hpp"

#include "actiond/config/log.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace actiond::pipeline::detail {

namespace {

spdlog::logger& logger() { return config::module_log("camera"); }

constexpr std::size_t kMaxPending = 64;  // units in flight inside the decoder (B-frame reordering, threads)

// A picture at the model's size: the pixels and their owner for Frame::storage.
struct Pixels {
  std::vector<std::uint8_t> rgb;
};

}  // namespace

AnalysisDecoder::AnalysisDecoder(std::string camera, AnalysisOutput out)
    : camera_(std::move(camera)), out_(out),
      period_ns_(static_cast<std::int64_t>(std::llround(1e9 / std::max(out.fps, 1e-3)))) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_H264);
  if (codec == nullptr) throw std::runtime_error("camera " + camera_ + ": libavcodec has no H.264 decoder");
  ctx_.reset(avcodec_alloc_context3(codec));
  picture_.reset(av_frame_alloc());
  packet_.reset(av_packet_alloc());
  if (ctx_ == nullptr || picture_ == nullptr || packet_ == nullptr) {
    throw std::runtime_error("camera " + camera_ + ": out of memory for the H.264 decoder");
  }
  ctx_->pkt_timebase = AVRational{1, 1000000000};
  ctx_->thread_count = out.threads;
  // Slice threads add no frame of latency; frame threads would add one per thread.
  ctx_->thread_type = FF_THREAD_SLICE;
  ctx_->skip_loop_filter = AVDISCARD_ALL;  // no deblocking: the model sees 64-384 px, not the blocks
  ctx_->flags2 |= AV_CODEC_FLAG2_FAST;
  if (avcodec_open2(ctx_.get(), codec, nullptr) < 0) {
    throw std::runtime_error("camera " + camera_ + ": cannot open libavcodec's H.264 decoder");
  }
}

AnalysisDecoder::~AnalysisDecoder() = default;

void LibavFree::operator()(AVCodecContext* p) const { avcodec_free_context(&p); }
void LibavFree::operator()(AVFrame* p) const { av_frame_free(&p); }
void LibavFree::operator()(AVPacket* p) const { av_packet_free(&p); }
void LibavFree::operator()(SwsContext* p) const { sws_freeContext(p); }

void AnalysisDecoder::flush() {
  if (ctx_ != nullptr) avcodec_flush_buffers(ctx_.get());
  pending_.clear();
  origin_ns_ = -1;
  last_slot_ = std::numeric_limits<std::int64_t>::min();
  waiting_for_key_ = true;
}

void AnalysisDecoder::drain(const Emit& emit) {
  if (ctx_ == nullptr || waiting_for_key_) return;
  if (avcodec_send_packet(ctx_.get(), nullptr) == 0) receive(emit);
  flush();
}

// The analysis rate's grid: slot k holds running times [origin + k * period, origin + (k+1) * period),
// the origin being the first unit after a (re)start. The first picture of each slot is taken, as
// videorate drop-only does for a steady frame rate.
std::int64_t AnalysisDecoder::slot(std::int64_t running_ns) const {
  const std::int64_t d = running_ns - origin_ns_;
  return d >= 0 ? d / period_ns_ : -((-d + period_ns_ - 1) / period_ns_);
}

bool AnalysisDecoder::selects(std::int64_t running_ns) const {
  return running_ns < 0 || origin_ns_ < 0 || slot(running_ns) > last_slot_;
}

void AnalysisDecoder::take(std::int64_t running_ns) {
  if (running_ns >= 0 && origin_ns_ >= 0) last_slot_ = slot(running_ns);
}

// Decided before decoding, so in decode order: a picture is wanted if it can be the first of its
// slot, i.e. it starts within one frame duration of the slot's start (and the slot is not served).
bool AnalysisDecoder::wanted(const AccessUnit& unit) const {
  if (unit.running_ns < 0 || unit.duration_ns <= 0) return true;
  if (!selects(unit.running_ns)) return false;
  const std::int64_t offset = unit.running_ns - origin_ns_ - slot(unit.running_ns) * period_ns_;
  return offset < unit.duration_ns + 1000000;  // 1 ms of timestamp rounding
}

void AnalysisDecoder::decode(const AccessUnit& unit, const Emit& emit) {
  if (waiting_for_key_) {
    if (!unit.key) return;  // references missing: the pictures would be smears
    waiting_for_key_ = false;
    origin_ns_ = unit.running_ns;
  }
  // A unit the rate will not take: the decoder skips it if no other picture refers to it.
  const bool want = wanted(unit);
  ctx_->skip_frame = want ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
  pending_.push_back({unit.running_ns, unit.stream_pts, unit.ntp});
  if (pending_.size() > kMaxPending) pending_.pop_front();

  packet_->data = const_cast<std::uint8_t*>(unit.data);  // read only: libavcodec copies unrefcounted data
  packet_->size = static_cast<int>(unit.size);
  packet_->pts = unit.running_ns >= 0 ? unit.running_ns : AV_NOPTS_VALUE;
  packet_->dts = AV_NOPTS_VALUE;
  packet_->flags = unit.key ? AV_PKT_FLAG_KEY : 0;
  const std::uint64_t before = decoded_.load(std::memory_order_relaxed);
  const int rc = avcodec_send_packet(ctx_.get(), packet_.get());
  packet_->data = nullptr;
  packet_->size = 0;
  if (rc < 0 && rc != AVERROR(EAGAIN)) {
    errors_.fetch_add(1);
    return;
  }
  receive(emit);
  if (!want && decoded_.load(std::memory_order_relaxed) == before) not_decoded_.fetch_add(1);
}

void AnalysisDecoder::receive(const Emit& emit) {
  while (avcodec_receive_frame(ctx_.get(), picture_.get()) == 0) {
    decoded_.fetch_add(1, std::memory_order_relaxed);
    const std::int64_t t = picture_->best_effort_timestamp != AV_NOPTS_VALUE ? picture_->best_effort_timestamp
                                                                              : picture_->pts;
    if ((picture_->flags & AV_FRAME_FLAG_CORRUPT) != 0 || picture_->decode_error_flags != 0) {
      errors_.fetch_add(1);  // damaged pictures read as actions: never analysed
    } else if (!selects(t)) {
      rate_drops_.fetch_add(1);
    } else if (std::optional<Frame> f = convert(*picture_)) {
      take(t);
      emit(std::move(*f), t);
    }
    av_frame_unref(picture_.get());
  }
}

std::optional<Frame> AnalysisDecoder::convert(const AVFrame& p) {
  const auto fmt = static_cast<AVPixelFormat>(p.format);
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(fmt);
  if (desc == nullptr || p.width <= 0 || p.height <= 0) return std::nullopt;
  picture_width_.store(p.width);
  picture_height_.store(p.height);
  // The region of interest, clipped to the picture, on chroma-aligned coordinates.
  int x = 0;
  int y = 0;
  int w = p.width;
  int h = p.height;
  if (out_.roi.width > 0) {
    x = std::min(out_.roi.x, p.width - 1) & ~1;
    y = std::min(out_.roi.y, p.height - 1) & ~1;
    w = std::max(2, std::min(out_.roi.width, p.width - x));
    h = std::max(2, std::min(out_.roi.height, p.height - y));
  }
  const std::uint8_t* src[4] = {nullptr, nullptr, nullptr, nullptr};
  int src_stride[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4 && p.data[i] != nullptr; ++i) {
    const bool chroma = i == 1 || i == 2;
    const int sx = chroma ? (x >> desc->log2_chroma_w) : x;
    const int sy = chroma ? (y >> desc->log2_chroma_h) : y;
    int step = 1;  // bytes per pixel in this plane (2 for 10-bit formats)
    for (const auto& comp : desc->comp) {
      if (comp.plane == i && comp.step > 0) step = comp.step;
    }
    src[i] = p.data[i] + static_cast<std::ptrdiff_t>(sy) * p.linesize[i] + static_cast<std::ptrdiff_t>(sx) * step;
    src_stride[i] = p.linesize[i];
  }
  // Where the picture goes in the model's input: all of it, or the letterboxed content area.
  const double sar = p.sample_aspect_ratio.num > 0 && p.sample_aspect_ratio.den > 0 ? av_q2d(p.sample_aspect_ratio) : 1.0;
  const double aspect = sar * w / h;
  std::array<float, 4> content{0.0f, 0.0f, 1.0f, 1.0f};
  if (out_.letterbox) content = letterbox_content(aspect, out_.width, out_.height);
  const int dx = static_cast<int>(std::lround(content[0] * out_.width));
  const int dy = static_cast<int>(std::lround(content[1] * out_.height));
  const int dw = std::max(1, static_cast<int>(std::lround(content[2] * out_.width)));
  const int dh = std::max(1, static_cast<int>(std::lround(content[3] * out_.height)));
  // Deprecated full-range ("J") formats: the same planes; swscale is told the range instead.
  AVPixelFormat src_fmt = fmt;
  bool full_range = p.color_range == AVCOL_RANGE_JPEG;
  switch (fmt) {
    case AV_PIX_FMT_YUVJ420P: src_fmt = AV_PIX_FMT_YUV420P; full_range = true; break;
    case AV_PIX_FMT_YUVJ422P: src_fmt = AV_PIX_FMT_YUV422P; full_range = true; break;
    case AV_PIX_FMT_YUVJ444P: src_fmt = AV_PIX_FMT_YUV444P; full_range = true; break;
    default: break;
  }
  sws_.reset(sws_getCachedContext(sws_.release(), w, h, src_fmt, dw, dh, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr, nullptr, nullptr));
  if (sws_ == nullptr) {
    logger().warn("camera {}: cannot convert {} {}x{} to RGB {}x{}", camera_, desc->name, w, h, dw, dh);
    return std::nullopt;
  }
  // The matrix the stream says; unsaid, GStreamer's default: BT.709 for HD, BT.601 below.
  int matrix = p.width > 720 || p.height > 576 ? SWS_CS_ITU709 : SWS_CS_ITU601;
  switch (p.colorspace) {
    case AVCOL_SPC_BT709: matrix = SWS_CS_ITU709; break;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M: matrix = SWS_CS_ITU601; break;
    case AVCOL_SPC_SMPTE240M: matrix = SWS_CS_SMPTE240M; break;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: matrix = SWS_CS_BT2020; break;
    default: break;
  }
  const int* coefs = sws_getCoefficients(matrix);
  sws_setColorspaceDetails(sws_.get(), coefs, full_range ? 1 : 0, coefs, 1, 0, 1 << 16, 1 << 16);

  auto pixels = std::make_shared<Pixels>();
  const int stride = out_.width * 3;
  pixels->rgb.assign(static_cast<std::size_t>(stride) * out_.height, 0);  // black borders
  std::uint8_t* dst[4] = {pixels->rgb.data() + static_cast<std::ptrdiff_t>(dy) * stride + dx * 3, nullptr, nullptr, nullptr};
  int dst_stride[4] = {stride, 0, 0, 0};
  if (sws_scale(sws_.get(), src, src_stride, 0, h, dst, dst_stride) <= 0) return std::nullopt;

  Frame f;
  f.arrival = std::chrono::steady_clock::now();
  f.time = std::chrono::system_clock::now();
  const std::int64_t t = p.best_effort_timestamp != AV_NOPTS_VALUE ? p.best_effort_timestamp : p.pts;
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->running_ns != t) continue;
    f.pts = it->stream_pts;
    if (it->ntp) {
      f.time = *it->ntp;
      f.clock = ClockSource::ntp;
    }
    pending_.erase(it);
    break;
  }
  f.width = out_.width;
  f.height = out_.height;
  f.stride = stride;
  f.data = pixels->rgb.data();
  f.content = content;
  f.storage = std::move(pixels);
  return f;
}

}  // namespace actiond::pipeline::detail
