#include "actiond/daemon/teach/commands.hpp"

#include "actiond/daemon/teach/train_request.hpp"

#include <set>

namespace actiond::daemon::teach {

using nlohmann::json;

namespace {

std::string text(const json& req, const char* key, const std::string& cmd) {
  if (!req.contains(key) || !req[key].is_string()) throw TeachError(400, cmd + " needs \"" + key + "\" (a string)");
  return req[key];
}

json ok(json j) {
  j["ok"] = true;
  return j;
}

}  // namespace

bool is_teach_command(const std::string& cmd) {
  static const std::set<std::string> known = {"datasets", "dataset", "import", "train", "jobs", "job", "cancel"};
  return known.count(cmd) > 0;
}

json handle_teach_command(const TeachContext& ctx, const json& req) {
  const std::string cmd = req.value("cmd", "");
  try {
    if (ctx.workspace == nullptr || ctx.jobs == nullptr) throw TeachError(404, "teaching is not served here");
    if (cmd == "datasets") return ok({{"datasets", ctx.workspace->datasets()}});
    if (cmd == "dataset") {
      const std::string name = text(req, "name", cmd);
      if (req.value("export", "") == "csv") return ok({{"csv", ctx.workspace->export_csv(name)}});
      return ok(ctx.workspace->dataset(name));
    }
    if (cmd == "import") {
      return ok(ctx.workspace->import(text(req, "name", cmd), text(req, "text", cmd), req.value("replace", false)));
    }
    if (cmd == "train") {
      json body = req;
      body.erase("cmd");
      return ok(ctx.jobs->start(train_request(body, *ctx.workspace, ctx.cameras(), ctx.models())));
    }
    if (cmd == "jobs") return ok(ctx.jobs->status());
    if (cmd == "job") {
      const json from = req.value("from", json(0));
      if (!from.is_number_unsigned()) throw TeachError(400, "job: \"from\" must be a non-negative integer");
      return ok(ctx.jobs->job(text(req, "id", cmd), from.get<std::size_t>()));
    }
    if (cmd == "cancel") {
      if (!ctx.jobs->cancel()) throw TeachError(409, "no training job is running");
      return ok(ctx.jobs->status());
    }
    throw TeachError(400, "unknown teach command \"" + cmd + "\"");
  } catch (const TeachError& e) {
    return json{{"ok", false}, {"error", e.what()}};
  }
}

}  // namespace actiond::daemon::teach
