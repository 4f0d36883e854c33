#include "actiond/daemon/io/control_protocol.hpp"

#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/teach/commands.hpp"

namespace actiond::daemon {

using nlohmann::json;

namespace {
json error(const std::string& message) { return json{{"ok", false}, {"error", message}}; }
}  // namespace

json handle_control_request(const ControlContext& ctx, const std::string& request) {
  const json req = json::parse(request, nullptr, false);
  if (req.is_discarded()) return error("request is not JSON");
  if (!req.is_object()) return error("request must be a JSON object");
  if (!req.contains("cmd") || !req["cmd"].is_string()) return error("request needs \"cmd\" (a string)");
  const std::string cmd = req["cmd"];
  try {
    if (cmd == "status") {
      json out = ctx.status();
      out["ok"] = true;
      return out;
    }
    if (cmd == "snapshot" || cmd == "cameras") {
      json snap = ctx.snapshot();
      if (cmd == "snapshot") return json{{"ok", true}, {"cameras", snap}};
      json ids = json::array();
      for (const auto& [id, v] : snap.items()) ids.push_back(id);
      return json{{"ok", true}, {"cameras", ids}};
    }
    if (cmd == "replay") {
      if (ctx.journal_dir.empty()) return error("replay: the journal is disabled (actiond.json /journal/enabled)");
      if (!req.contains("camera") || !req["camera"].is_string()) return error("replay needs \"camera\" (a string)");
      const json from = req.value("from", json(1));
      if (!from.is_number_unsigned() && !(from.is_number_integer() && from.get<long long>() >= 0)) {
        return error("replay: \"from\" must be a non-negative integer");
      }
      const json max = req.value("max", json(10000));
      if (!max.is_number_integer() || max.get<long long>() < 1 || max.get<long long>() > 100000) {
        return error("replay: \"max\" must be an integer between 1 and 100000");
      }
      const std::string camera = req["camera"];
      if (camera.find('/') != std::string::npos || camera.find("..") != std::string::npos) {
        return error("replay: invalid camera id");
      }
      json events = json::array();
      for (const auto& line : Journal::read(ctx.journal_dir, camera, from.get<std::uint64_t>(),
                                            static_cast<std::size_t>(max.get<long long>()))) {
        events.push_back(json::parse(line, nullptr, false));
      }
      return json{{"ok", true}, {"camera", camera}, {"events", events}};
    }
    if (cmd == "reload") {
      if (!ctx.reload) return error("reload: not allowed on this socket (actiond.json /control/allow_reload)");
      json out = ctx.reload();
      return out;
    }
    if (cmd == "models") return json{{"ok", true}, {"models", ctx.models ? ctx.models() : json::array()}};
    if (cmd == "shadow") {
      if (!ctx.reload) return error("shadow: not allowed on this socket (actiond.json /control/allow_reload)");
      if (!req.contains("camera") || !req["camera"].is_string()) return error("shadow needs \"camera\" (a string)");
      const json candidate = req.value("candidate", json(""));
      if (!candidate.is_string()) return error("shadow: \"candidate\" must be a model file's path (a string)");
      return ctx.shadow(req["camera"], candidate);
    }
    if (cmd == "promote" || cmd == "rollback") {
      if (!ctx.reload) return error(cmd + ": not allowed on this socket (actiond.json /control/allow_reload)");
      if (!req.contains("model") || !req["model"].is_string()) return error(cmd + " needs \"model\" (a string)");
      if (cmd == "rollback") return ctx.rollback(req["model"]);
      if (!req.contains("candidate") || !req["candidate"].is_string()) {
        return error("promote needs \"candidate\" (a model file's path, a string)");
      }
      return ctx.promote(req["model"], req["candidate"]);
    }
    if (teach::is_teach_command(cmd)) {
      if (!ctx.teach) return error(cmd + ": teaching is not served here");
      if ((cmd == "import" || cmd == "train" || cmd == "cancel") && !ctx.reload) {
        return error(cmd + ": not allowed on this socket (actiond.json /control/allow_reload)");
      }
      return ctx.teach(req);
    }
    return error("unknown cmd \"" + cmd + "\" (known: status, cameras, snapshot, replay, reload, models, promote, "
                 "rollback, shadow, datasets, dataset, import, train, jobs, job, cancel)");
  } catch (const std::exception& e) {
    return error(cmd + ": " + e.what());
  }
}

}  // namespace actiond::daemon
