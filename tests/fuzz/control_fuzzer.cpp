// libFuzzer harness: the control protocol handler (scripts/fuzz.sh). Input: one request as the
// control socket receives it. The handler runs against a real journal with two cameras (written
// once at start-up by the Journal class) and fixed status/snapshot providers. Every reply must be a
// JSON object with a boolean "ok" that serialises; replayed events must have seq >= the request's
// "from". Anything else (a crash, an exception, a sanitizer report) is a bug.
#include "actiond/daemon/io/control_protocol.hpp"
#include "actiond/daemon/journal/journal.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace {

using nlohmann::json;
using namespace actiond::daemon;

ControlContext make_context() {
  char tmpl[] = "/tmp/actiond-control-fuzz-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(tmpl);
  {
    Journal journal(JournalConfig{dir, actiond::config::FsyncPolicy::none, 2048, 8});
    for (std::uint64_t seq = 1; seq <= 60; ++seq) {
      for (const char* camera : {"door", "yard"}) {
        journal.append(camera, seq, json{{"camera", camera}, {"seq", seq}, {"epoch", 1 + seq / 30}, {"type", "boundary"}}.dump());
      }
    }
  }
  ControlContext ctx;
  ctx.status = [] { return json{{"cameras", {{"door", {{"state", "running"}}}}}}; };
  ctx.snapshot = [] { return json{{"door", {{"seq", 60}}}, {"yard", {{"seq", 60}}}}; };
  ctx.journal_dir = dir;
  ctx.reload = [] { return json{{"ok", true}, {"changed", json::array()}}; };
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ControlContext ctx = make_context();
  const std::string request(reinterpret_cast<const char*>(data), size);
  const json reply = handle_control_request(ctx, request);
  if (!reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean()) std::abort();
  (void)reply.dump(-1, ' ', false, json::error_handler_t::replace);
  const json req = json::parse(request, nullptr, false);
  if (reply["ok"] && req.is_object() && req.value("cmd", json()) == "replay") {
    const std::uint64_t from = req.value("from", json(1)).get<std::uint64_t>();
    for (const auto& e : reply["events"]) {
      if (e["seq"].get<std::uint64_t>() < from) std::abort();
    }
  }
  return 0;
}
