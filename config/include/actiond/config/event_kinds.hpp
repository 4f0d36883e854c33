#pragma once
// The kinds of actiond's events and why segments and tracks end, as the whole program names them:
// typed inside the process, text only where JSON is read or written (docs/EVENTS.md).
//
// Thread-safety: constant tables and pure functions.
#include "actiond/config/enum_names.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

namespace actiond::config {

enum class EventType {
  segment_start, segment_update, segment_end, boundary, recognition, repetition,
  track_start, track_end, stream_status, heartbeat, clip_ready
};

inline constexpr EnumNames<EventType, 11> kEventTypeNames{{
    {EventType::segment_start, "segment.start"}, {EventType::segment_update, "segment.update"},
    {EventType::segment_end, "segment.end"},     {EventType::boundary, "boundary"},
    {EventType::recognition, "recognition"},     {EventType::repetition, "repetition"},
    {EventType::track_start, "track.start"},     {EventType::track_end, "track.end"},
    {EventType::stream_status, "stream.status"}, {EventType::heartbeat, "heartbeat"},
    {EventType::clip_ready, "clip.ready"},
}};

inline std::string to_string(EventType t) { return std::string(name_of(kEventTypeNames, t)); }
// nullopt for a name that is no event type (events from elsewhere, damaged journals).
constexpr std::optional<EventType> parse_event_type(std::string_view name) { return value_of(kEventTypeNames, name); }
// The type of an event read as JSON (journal, index, broker); nullopt when absent or unknown.
inline std::optional<EventType> event_type_of(const nlohmann::json& event) {
  const auto it = event.find("type");
  return it != event.end() && it->is_string() ? parse_event_type(it->get_ref<const std::string&>()) : std::nullopt;
}
constexpr bool is_segment_event(EventType t) {
  return t == EventType::segment_start || t == EventType::segment_update || t == EventType::segment_end;
}

// Why a segment or a person track ended.
enum class EndReason {
  action_changed,  // segment: another label took over
  background,      // segment: back to background
  max_duration,    // segment: split after max_duration_s
  track_lost,      // segment: its person's track ended
  lost,            // track: missed for longer than death_frames
  scene_change,    // the whole picture changed (an edit, a blank frame)
  eos,             // the stream ended
  source_lost,     // reconnecting, stalled, failed; a cluster host died
  shutdown,        // the daemon stops
  reconfigured,    // the camera was changed or removed by a reload
  restart,         // left open by the previous run, ended at start-up
  handoff,         // cluster: the camera moved to another host
  error,           // the analysis failed (an exception in the loop): see the log
};

inline constexpr EnumNames<EndReason, 13> kEndReasonNames{{
    {EndReason::action_changed, "action_changed"}, {EndReason::background, "background"},
    {EndReason::max_duration, "max_duration"},     {EndReason::track_lost, "track_lost"},
    {EndReason::lost, "lost"},                     {EndReason::scene_change, "scene_change"},
    {EndReason::eos, "eos"},                       {EndReason::source_lost, "source_lost"},
    {EndReason::shutdown, "shutdown"},             {EndReason::reconfigured, "reconfigured"},
    {EndReason::restart, "restart"},               {EndReason::handoff, "handoff"},
    {EndReason::error, "error"},
}};

inline std::string to_string(EndReason r) { return std::string(name_of(kEndReasonNames, r)); }
constexpr std::optional<EndReason> parse_end_reason(std::string_view name) { return value_of(kEndReasonNames, name); }
// The stream goes on after an end for this reason (a clip can wait for the frames after it).
constexpr bool stream_goes_on(EndReason r) {
  return r == EndReason::background || r == EndReason::action_changed || r == EndReason::max_duration ||
         r == EndReason::track_lost || r == EndReason::scene_change;
}

}  // namespace actiond::config
