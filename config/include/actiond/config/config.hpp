#pragma once
// actiond's configuration: a daemon file (`actiond.json`) and one file per camera (`cameras/*.json`),
// read as defaults -> file -> validation -> an immutable `Config` shared by `shared_ptr<const Config>`.
//
// Example:
//   auto cfg = actiond::config::load_config("/etc/actiond");   // throws ConfigError
//   for (const auto& cam : cfg->cameras) { ... }
//
// Thread-safety: a loaded Config is immutable and may be read from any thread.
#include "actiond/config/enum_names.hpp"
#include "actiond/config/json_reader.hpp"
#include "actiond/config/cluster.hpp"
#include "actiond/config/sinks.hpp"

#include <filesystem>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

namespace actiond::config {

// Where a segment's repetitions come from: the segmenter's repetition output (peaks of its score) or
// the pose signal of the segment's own frames (see daemon/analysis/repetition_counter.hpp).
enum class RepetitionSource { model, pose };
inline constexpr EnumNames<RepetitionSource, 2> kRepetitionSourceNames{
    {{RepetitionSource::model, "model"}, {RepetitionSource::pose, "pose"}}};

// Turns per-frame scores into segment events (see daemon/segment_tracker.hpp).
struct TrackerConfig {
  double threshold = 0.5;            // min probability for a non-background label to count
  int confirm_frames = 3;            // a new label must hold this many frames before it is accepted
  int boundary_confirm_frames = 3;   // ... or this many, if it starts at a boundary (score >= boundary_threshold)
  double min_duration_s = 1.0;       // a segment is published only once it has lasted this long
  double boundary_threshold = 0.5;   // boundary events for local peaks of the boundary score above this
  double update_interval_s = 2.0;    // segment.update while a segment is open (0 = off)
  double max_duration_s = 0.0;       // an open segment longer than this ends (`max_duration`) and a new
                                     // one of the same label starts (0 = no limit)
  double repetition_threshold = 0.5; // segmenters with a repetition output: a repetition at each local
                                     // peak of its score at or above this, inside a segment
  double repetition_min_interval_s = 0.4;  // ... at least this long after the segment's previous one
  double onset_threshold = 0.0;      // > 0: a segment opened from background starts at the action's onset,
                                     // the first of the frames before it whose background probability is
                                     // below this (class-agnostic); 0: at the first frame of its label
  RepetitionSource repetition_source = RepetitionSource::model;
  int repetition_smooth_frames = 3;        // pose: centred moving average of the signal (odd)
  double repetition_hysteresis = 0.25;     // pose: a turn counts once the signal moved back this share of its range
  double repetition_min_amplitude = 0.0;   // pose: ... and at least this far (torso lengths)
  double repetition_lookback_s = 0.0;      // pose: the counter also reads this much before the segment's start
  std::set<std::string> from_file;   // the keys the file set (the others may come from the model)
  bool operator==(const TrackerConfig&) const = default;
};

// Which frames run the pose model (see daemon/analysis/motion_gate.hpp); on the others tracks coast.
struct PoseGateConfig {
  bool enabled = false;
  double threshold = 2.0;  // mean absolute difference of grey thumbnails (0-255) below which a frame is skipped
  int max_skip = 1;        // frames skipped in a row at most (1: the model sees at least every other frame)
  bool operator==(const PoseGateConfig&) const = default;
};

// Person tracks of a pose camera (see daemon/analysis/person_tracker.hpp).
struct PersonTrackingConfig {
  int birth_frames = 3;            // detections in consecutive frames before a track starts
  int death_frames = 10;           // missed frames after which a track ends
  int max_tracks = 10;             // per camera; detections beyond it are dropped (counted)
  double min_score = 0.25;         // person score a detection needs
  double min_keypoint_score = 0.2; // keypoints below it are not used (matching, features)
  double min_similarity = 0.1;     // box IoU / keypoint similarity below which nothing matches
  PoseGateConfig gate;
  // Mean absolute difference of consecutive grey thumbnails (0-255) at which, with half the grey
  // histogram moved, the picture changed as a whole (an edit, a blank frame, a camera switch): every
  // track and its segments end (daemon/analysis/scene_cut.hpp; 0 = off).
  double scene_cut = 40.0;
  bool follow = false;             // single-person models: read a crop that follows the person
  bool operator==(const PersonTrackingConfig&) const = default;
};

struct CameraModels {
  std::string backbone;   // name of an entry of DaemonConfig::models (empty for features:// cameras)
  std::string pose;       // or: a pose model (person tracks; the segmenter then reads pose features)
  std::string segmenter;  // name of an entry of DaemonConfig::models (optional with a pose model)
  std::string recognizer; // optional (empty = none): clip-level `recognition` events
  bool operator==(const CameraModels&) const = default;
};

// `recognition` events from the camera's recognizer, every `interval_s` of stream time.
struct RecognitionConfig {
  double interval_s = 1.0;
  int top_k = 3;
  double min_confidence = 0.0;  // below this, the event is not emitted
  bool operator==(const RecognitionConfig&) const = default;
};

// Clips around segments (the camera's own compressed packets, remuxed; see pipeline ClipRecorder).
struct ClipConfig {
  bool enabled = false;
  double pre_s = 5.0;    // before the segment's start
  double post_s = 3.0;   // after its end
  int buffer_mb = 64;    // memory bound of the camera's packet ring
  std::string record_uri;  // record clips from this stream (the main stream) instead of `uri`
  bool operator==(const ClipConfig&) const = default;
};

// Exponential backoff with jitter between reconnect attempts of a live source.
struct ReconnectConfig {
  double initial_s = 1.0;
  double max_s = 30.0;
  int max_attempts = 0;  // 0 = forever; after that many failed attempts the camera is "failed"
  bool operator==(const ReconnectConfig&) const = default;
  // Delay before attempt `attempt` (1-based): min(max, initial * 2^(attempt-1)), then scaled by a
  // factor in [1 - jitter, 1 + jitter] from `unit_random` in [0, 1), capped at max.
  double backoff_s(int attempt, double unit_random, double jitter = 0.2) const;
};

// Region of interest cropped (in source pixels) before scaling; width 0 = whole frame.
struct RoiConfig {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  bool operator==(const RoiConfig&) const = default;
};

// RTSP lower transport. `automatic` tries RTP over TCP (interleaved) first and falls back to UDP
// when the server refuses TCP; the others force one.
enum class Transport { automatic, tcp, udp };
// Which compressed frames reach the decoder.
enum class SkipFrames { none, non_key };
// How a camera's H.264 is decoded: GStreamer's full-quality decoder chain (avdec + videorate +
// videoscale + videoconvert), or the analysis-grade path (libavcodec without the deblocking
// filter, non-reference frames the analysis rate does not need left undecoded, one fused
// scale + colour conversion from the decoder's planes; pipeline/src/sources/analysis_decoder.hpp).
enum class DecoderPath { gstreamer, analysis };
// When the journal fsyncs: after every event, after each batch the publisher sends, or never.
enum class FsyncPolicy { always, batch, none };
// Their names in config files (and logs).
inline constexpr EnumNames<Transport, 3> kTransportNames{
    {{Transport::automatic, "auto"}, {Transport::tcp, "tcp"}, {Transport::udp, "udp"}}};
inline constexpr EnumNames<SkipFrames, 2> kSkipFramesNames{{{SkipFrames::none, "none"}, {SkipFrames::non_key, "non_key"}}};
inline constexpr EnumNames<DecoderPath, 2> kDecoderPathNames{
    {{DecoderPath::gstreamer, "gstreamer"}, {DecoderPath::analysis, "analysis"}}};
inline constexpr EnumNames<FsyncPolicy, 3> kFsyncPolicyNames{
    {{FsyncPolicy::always, "always"}, {FsyncPolicy::batch, "batch"}, {FsyncPolicy::none, "none"}}};
inline std::string to_string(RepetitionSource s) { return std::string(name_of(kRepetitionSourceNames, s)); }
inline std::string to_string(Transport t) { return std::string(name_of(kTransportNames, t)); }
inline std::string to_string(SkipFrames s) { return std::string(name_of(kSkipFramesNames, s)); }
inline std::string to_string(DecoderPath d) { return std::string(name_of(kDecoderPathNames, d)); }
inline std::string to_string(FsyncPolicy f) { return std::string(name_of(kFsyncPolicyNames, f)); }

struct CameraConfig {
  std::string file;    // label of the file it came from, e.g. "cameras/door.json"
  std::string id;      // unique, [A-Za-z0-9][A-Za-z0-9_.-]{0,63}
  std::string uri;     // file://, test://, rtsp(s)://, http(s)://, v4l2://
  double fps = 5.0;    // analysis frames per second
  bool realtime = true;       // files: play at real-time pace (true) or as fast as analysis allows
  int queue_frames = 4;       // frames buffered between decoder and inference (drop oldest when full)
  bool loop = false;          // files: start again at the end instead of stopping
  Transport transport = Transport::automatic;  // rtsp: "auto" (TCP, else UDP), "tcp" or "udp"
  int latency_ms = 200;       // rtsp: jitter buffer latency
  std::string username;       // rtsp/http credentials (alternative to user:pass@ in the URI)
  std::string password;       // read from `password_file`; never logged
  int decoder_threads = 0;    // 0 = decoder's default
  SkipFrames skip_frames = SkipFrames::none;  // "non_key": only key frames reach the decoder
  DecoderPath decoder = DecoderPath::gstreamer;  // "analysis": H.264 through the analysis-grade path
  RoiConfig roi;
  ReconnectConfig reconnect;
  double stall_timeout_s = 10.0;  // no frame for this long -> "stalled" -> restart the source
  CameraModels models;
  TrackerConfig tracker;
  PersonTrackingConfig persons;
  RecognitionConfig recognition;
  ClipConfig clips;
  bool operator==(const CameraConfig&) const = default;
};

struct ModelEntry {
  std::string name;
  std::filesystem::path path;  // absolute after loading
};

struct PublishConfig {
  std::string endpoint = "tcp://127.0.0.1:7700";
  int sndhwm = 10000;            // ZeroMQ PUB high-water mark per subscriber (messages)
  int queue_capacity = 65536;    // events waiting for the publisher thread (drop newest when full)
  double heartbeat_s = 5.0;      // per-camera heartbeat events (0 = off)
  int startup_grace_ms = 300;    // after binding, lets subscribers waiting for a (re)start reconnect
                                 // before the first event (ZeroMQ reconnects every 100 ms)
  bool operator==(const PublishConfig&) const = default;
};

struct InferenceConfig {
  int intra_op_threads = 1;  // LibTorch starts with 1 here; set explicitly
  int inter_op_threads = 1;
  int max_batch = 8;         // frames per backbone call, across cameras
  int max_wait_ms = 5;       // how long the loop waits to fill a batch once a frame is ready
  // Niceness of the decoding threads above the daemon's own: when decoders could take every core,
  // the inference thread still runs at once (decoders fall behind instead; 0 = same priority).
  int decoder_nice = 10;
  bool operator==(const InferenceConfig&) const = default;
};

// Every event is appended to a per-camera journal before it is published (see actiond/daemon/io/journal.hpp).
struct JournalSettings {
  bool enabled = true;
  std::filesystem::path dir;     // absolute after loading; default <config dir>/journal
  FsyncPolicy fsync = FsyncPolicy::batch;
  int max_file_mb = 64;
  int max_files = 16;            // per camera; the oldest are deleted ...
  int sink_backlog_max_mb = 4096;  // ... unless a sink has not delivered them, up to this much per camera
  bool operator==(const JournalSettings&) const = default;
};

// Optional CURVE encryption (libzmq + libsodium) of both sockets, with a client allow-list.
struct SecurityConfig {
  std::string curve_secret_key;               // Z85 (40 chars), from curve_secret_key_file; never logged
  std::vector<std::string> allowed_clients;   // Z85 public keys; empty = any client knowing the server key
  bool enabled() const { return !curve_secret_key.empty(); }
  bool operator==(const SecurityConfig&) const = default;
};

// Where clips go and the disk bound (oldest deleted first).
struct ClipStoreSettings {
  std::filesystem::path dir;   // absolute after loading; default <config dir>/clips
  int max_total_mb = 2048;
  double max_age_h = 168.0;
  bool operator==(const ClipStoreSettings&) const = default;
};

// The HTTP API and web timeline, on the metrics listener (see actiond/daemon/api/api.hpp).
struct ApiSettings {
  bool enabled = true;
  bool web = true;              // the timeline page at /
  std::string token;            // from token_file: may read and write; never logged
  std::string read_token;       // from read_token_file: may read (GET) only; never logged
  // Either token set: every /api/ request and the page need one of them.
  int max_streams = 8;          // concurrent live event streams
  bool operator==(const ApiSettings&) const = default;
};

// Teach your own actions (docs/TEACH.md): labelled datasets, training jobs and their candidates.
struct TeachSettings {
  std::filesystem::path dir;         // absolute; datasets/ and candidates/ under it; default <config dir>/teach
  std::filesystem::path media_dir;   // absolute, or empty: video files the label page may open
  std::string train_command;         // actiond-train to run; empty: the one beside actiond, else PATH
  bool operator==(const TeachSettings&) const = default;
};

struct DaemonConfig {
  PublishConfig publish;
  std::string control_endpoint = "tcp://127.0.0.1:7701";  // ROUTER socket for actionctl
  bool control_allow_reload = true;                        // whether `reload` is accepted on it
  bool metrics_enabled = true;                  // HTTP GET /metrics (Prometheus) and /healthz
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 7702;                      // 0 = any free port
  ApiSettings api;                              // served on the metrics listener
  bool reload_watch = true;      // reload when files in cameras/ change (inotify)
  int reload_debounce_ms = 500;  // ... once they have been quiet this long
  SecurityConfig security;
  JournalSettings journal;
  ClipStoreSettings clips;
  TeachSettings teach;
  InferenceConfig inference;
  std::vector<SinkConfig> sinks;
  ClusterSettings cluster;                       // enabled: cameras come from etcd (cameras/ must be empty)
  std::string log_level = "info";
  std::filesystem::path model_dir;               // absolute after loading
  std::map<std::string, ModelEntry> models;      // by name
};

struct LoadOptions {
  // Overrides actiond.json's `model_dir` (e.g. `actiond --model-dir build/models/tiny`).
  std::filesystem::path model_dir_override;
};

struct Config {
  std::filesystem::path dir;  // the configuration directory
  LoadOptions options;        // how it was loaded (a reload loads the same way)
  DaemonConfig daemon;
  std::vector<CameraConfig> cameras;  // sorted by file name

  const CameraConfig* find_camera(const std::string& id) const;
};

// Reads DIR/actiond.json and DIR/cameras/*.json. Throws ConfigError naming file and key path.
std::shared_ptr<const Config> load_config(const std::filesystem::path& dir, const LoadOptions& options = {});

// The parts, for tests and tools. `label` is the file name used in messages.
// A tracker object (a camera's `tracker`, a segmenter manifest's `decoding`); `label` names the file.
TrackerConfig parse_tracker_config(const nlohmann::json& j, const std::string& label, const std::string& pointer);
// The camera's settings, with each key the camera file did not set taken from `model` (the settings a
// segmenter's training chose) where the model sets it.
TrackerConfig with_model_defaults(const TrackerConfig& camera, const TrackerConfig& model);

DaemonConfig parse_daemon_config(const nlohmann::json& j, const std::string& label,
                                 const std::filesystem::path& config_dir, const LoadOptions& options);
// `folder`: where a relative `file:` URI is resolved (the camera file's folder).
CameraConfig parse_camera_config(const nlohmann::json& j, const std::string& label, const DaemonConfig& daemon,
                                 const std::filesystem::path& folder = ".");

// URI scheme ("file", "test", ...) or "" when the string has none.
std::string uri_scheme(const std::string& uri);

}  // namespace actiond::config
