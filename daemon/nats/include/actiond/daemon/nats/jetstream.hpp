#pragma once
// What the NATS sink and the cluster log share about JetStream (libnats): readable errors, RAII for
// libnats' handles, connecting, and "this stream exists, or is created" (header-only: both libraries
// link libnats themselves).
#include "actiond/config/c_handle.hpp"

#include <nats/nats.h>

#include <cstdint>
#include <string>

namespace actiond::daemon::detail {

inline void close_connection(natsConnection* nc) {
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
}
using NatsConnection = config::CHandle<natsConnection, close_connection>;
using NatsOptions = config::CHandle<natsOptions, natsOptions_Destroy>;
using JsContext = config::CHandle<jsCtx, jsCtx_Destroy>;
using NatsMsg = config::CHandle<natsMsg, natsMsg_Destroy>;
using JsPubAck = config::CHandle<jsPubAck, jsPubAck_Destroy>;
using JsStreamInfo = config::CHandle<jsStreamInfo, jsStreamInfo_Destroy>;

// A connection and its JetStream context (the context goes first).
struct JetStream {
  NatsConnection nc;
  JsContext js;
};

inline std::string nats_status_text(natsStatus s, jsErrCode jerr) {
  std::string out = natsStatus_GetText(s);
  if (jerr != 0) out += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && last[0] != 0 && out.find(last) == std::string::npos) out += ": " + std::string(last);
  return out;
}

// Connects with `opts` (`s`: the status of setting them) and opens JetStream with `wait_ms` as its
// timeout: "" on success, else why not, naming `where`.
inline std::string connect_jetstream(JetStream& out, const NatsOptions& opts, natsStatus s, std::int64_t wait_ms,
                                     const std::string& where) {
  natsConnection* nc = nullptr;
  if (s == NATS_OK) s = natsConnection_Connect(&nc, opts.get());
  out.nc.reset(nc);
  if (s != NATS_OK) return where + ": " + nats_status_text(s, static_cast<jsErrCode>(0));
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = wait_ms;
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, out.nc.get(), &jo);
  out.js.reset(js);
  if (s != NATS_OK) return where + ": JetStream: " + nats_status_text(s, static_cast<jsErrCode>(0));
  return {};
}

// New options with the server's URL and a connect timeout; `s` says whether that worked.
inline NatsOptions nats_options(const std::string& url, double timeout_s, natsStatus& s) {
  natsOptions* raw = nullptr;
  s = natsOptions_Create(&raw);
  NatsOptions opts(raw);
  if (s == NATS_OK) s = natsOptions_SetURL(opts.get(), url.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts.get(), static_cast<int64_t>(timeout_s * 1000));
  return opts;
}

// "" when `stream` exists or was created (file storage, `subjects`; another client creating it at
// the same moment counts), else why not. Without `create`, a missing stream is an error.
inline std::string ensure_stream(jsCtx* js, const std::string& stream, const std::string& subjects, bool create) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* found = nullptr;
  natsStatus s = js_GetStreamInfo(&found, js, stream.c_str(), nullptr, &jerr);
  const JsStreamInfo found_info(found);
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
  jsStreamInfo* added = nullptr;
  s = js_AddStream(&added, js, &sc, nullptr, &jerr);
  const JsStreamInfo added_info(added);
  if (s != NATS_OK && jerr != JSStreamNameExistErr) return "stream " + stream + ": cannot create: " + nats_status_text(s, jerr);
  return {};
}

}  // namespace actiond::daemon::detail
