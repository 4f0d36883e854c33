#pragma once
// What the NATS sink and the cluster log share about JetStream (libnats): readable errors and
// "this stream exists, or is created" (header-only: both libraries link libnats themselves).
#include <nats/nats.h>

#include <string>

namespace actiond::daemon::detail {

inline std::string nats_status_text(natsStatus s, jsErrCode jerr) {
  std::string out = natsStatus_GetText(s);
  if (jerr != 0) out += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && last[0] != 0 && out.find(last) == std::string::npos) out += ": " + std::string(last);
  return out;
}

// "" when `stream` exists or was created (file storage, `subjects`; another client creating it at
// the same moment counts), else why not. Without `create`, a missing stream is an error.
inline std::string ensure_stream(jsCtx* js, const std::string& stream, const std::string& subjects, bool create) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  natsStatus s = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &jerr);
  jsStreamInfo_Destroy(si);
  if (s == NATS_OK) return {};
  if (s != NATS_NOT_FOUND) return "stream " + stream + ": " + nats_status_text(s, jerr);
  if (!create) return "stream " + stream + ": " + nats_status_text(s, jerr) + " (set create_stream)";
  const char* list[] = {subjects.c_str()};
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  sc.Name = stream.c_str();
  sc.Subjects = list;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  jerr = static_cast<jsErrCode>(0);
  si = nullptr;
  s = js_AddStream(&si, js, &sc, nullptr, &jerr);
  jsStreamInfo_Destroy(si);
  if (s != NATS_OK && jerr != JSStreamNameExistErr) return "stream " + stream + ": cannot create: " + nats_status_text(s, jerr);
  return {};
}

}  // namespace actiond::daemon::detail
