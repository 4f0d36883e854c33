// Promote and roll back a segmenter while a camera runs: refusals with exact messages, the camera's
// segments follow the new model, nothing is lost and nothing stays open.
#include "actiond/config/config.hpp"
#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/runtime/daemon.hpp"

#include "daemon_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace actiond;
using namespace std::chrono_literals;
using test::TempDir;
namespace fs = std::filesystem;

namespace {

// A segment.start of `label` after the first `after` events.
auto starts_label(const std::string& label, std::size_t after = 0) {
  return [label, after](const std::vector<nlohmann::json>& evs) {
    for (std::size_t k = after; k < evs.size(); ++k) {
      if (evs[k]["type"] == "segment.start" && evs[k]["segment"]["label"] == label) return true;
    }
    return false;
  };
}

// A private model directory (the test models, and segmenter_renamed.pt as candidate.pt) and one
// camera "cam" alternating black and red on them; returns the model directory.
fs::path write_model_config(TempDir& dir) {
  const fs::path models = dir.path() / "models";
  fs::create_directories(models);
  for (const char* f : {"backbone.pt", "segmenter.pt", "recognizer.pt"}) fs::copy_file(test::test_model_dir() / f, models / f);
  fs::copy_file(test::test_model_dir() / "segmenter_renamed.pt", models / "candidate.pt");
  dir.write("actiond.json", test::daemon_json());
  dir.write("cameras/cam.json", test::camera_json("cam", "test://pattern?cycle=black,red&period=1&width=64&height=48&fps=10",
                                                  R"("tracker": {"min_duration_s": 0.2, "confirm_frames": 1}, )"));
  return models;
}

std::shared_ptr<const config::Config> load_with_models(const TempDir& dir, const fs::path& models) {
  config::LoadOptions opts;
  opts.model_dir_override = models;
  return config::load_config(dir.path(), opts);
}

}  // namespace

TEST_CASE("promote and roll back a segmenter on a running camera", "[integration][models]") {
  TempDir dir;
  const fs::path models = write_model_config(dir);
  fs::copy_file(test::test_model_dir() / "segmenter.pt", dir.path() / "outside.pt");
  daemon::Daemon d(load_with_models(dir, models));
  test::EventCollector sub(d.publish_endpoint());
  CHECK(d.promote("seg", models / "candidate.pt").error == "promote: the daemon is not running");
  d.start();
  REQUIRE(sub.wait_for(starts_label("red"), 30s));

  const fs::path seg = models / "segmenter.pt";
  CHECK(d.promote("nope", models / "candidate.pt").error ==
        "promote: no model \"nope\" in actiond.json /models (known: bb, rec, seg)");
  CHECK(d.promote("seg", dir.path() / "outside.pt").error ==
        "promote: " + (dir.path() / "outside.pt").string() + ": outside the model directory " + models.string() +
            " and the training candidates " + (dir.path() / "teach" / "candidates").string() + " (copy it there first)");
  CHECK(d.promote("seg", models / "missing.pt").error == "promote: " + (models / "missing.pt").string() + ": no such file");
  CHECK(d.promote("seg", models / "backbone.pt").error ==
        "promote: " + (models / "backbone.pt").string() +
            " cannot replace seg: it is a backbone model, the model it would replace a segmenter model");
  CHECK(d.rollback("seg").error == "rollback: no previous version of seg is kept (" + seg.string() + ".previous)");

  const auto promoted = d.promote("seg", models / "candidate.pt");
  REQUIRE(promoted.ok);
  CHECK(promoted.model == "seg");
  CHECK(promoted.changed == std::vector<std::string>{"cam"});
  const std::size_t at_promote = sub.events().size();
  const bool pour = sub.wait_for(starts_label("pour", at_promote), 30s);
  if (!pour) for (const auto& e : sub.events()) UNSCOPED_INFO(e.dump());
  REQUIRE(pour);  // the renamed model's name for red
  const auto listed = d.models();
  const auto entry = std::find_if(listed.begin(), listed.end(), [](const auto& m) { return m["name"] == "seg"; });
  REQUIRE(entry != listed.end());
  CHECK((*entry)["model_name"] == "tiny-colour-seg-renamed");
  CHECK((*entry)["cameras"] == nlohmann::json::array({"cam"}));
  CHECK((*entry)["previous"]["version"] == "1");
  CHECK(fs::exists(seg.string() + ".previous"));

  const auto rolled = d.rollback("seg");
  REQUIRE(rolled.ok);
  CHECK(rolled.changed == std::vector<std::string>{"cam"});
  const std::size_t at_rollback = sub.events().size();
  REQUIRE(sub.wait_for(starts_label("red", at_rollback), 30s));
  d.stop();
  REQUIRE(sub.wait_for([](const auto& evs) { return test::has_status(evs, "cam", "stopped"); }, 10s));
  const auto events = sub.events();
  test::check_stream_invariants(events);  // seq contiguous across both restarts, every segment ended
  for (const auto& e : events) {
    if (e["type"] != "segment.end") continue;
    const std::string reason = e["segment"]["end_reason"];
    CHECK((reason == "background" || reason == "reconfigured" || reason == "shutdown" || reason == "label_change"));
  }
  // Two restarts: the epoch went up twice.
  const auto running = test::statuses(events, "cam", "running");
  REQUIRE(running.size() >= 3);
  const int first_epoch = running.front()["epoch"];
  const int last_epoch = running.back()["epoch"];
  CHECK(last_epoch == first_epoch + 2);
}

TEST_CASE("a candidate tried in shadow mode publishes on shadow topics only and is never journaled",
          "[integration][models]") {
  TempDir dir;
  const fs::path models = write_model_config(dir);
  daemon::Daemon d(load_with_models(dir, models));
  test::EventCollector sub(d.publish_endpoint());
  d.start();
  REQUIRE(sub.wait_for(starts_label("red"), 30s));
  CHECK(d.shadow("nope", models / "candidate.pt")["error"] == "shadow: no camera 'nope'");
  CHECK(d.shadow("cam", models / "backbone.pt")["error"] ==
        "shadow: " + (models / "backbone.pt").string() + ": a backbone model; shadow mode tries segmenters");
  const auto tried = d.shadow("cam", models / "candidate.pt");
  REQUIRE(tried["ok"] == true);
  CHECK(tried["shadow"]["name"] == "tiny-colour-seg-renamed");
  const std::size_t mark = sub.events().size();
  // The shadow's "pour" segments come beside the camera's own "red" ones.
  auto shadow_ended = [mark](const std::vector<nlohmann::json>& evs) {
    bool start = false, end = false, own = false;
    for (std::size_t k = mark; k < evs.size(); ++k) {
      const auto& e = evs[k];
      const bool shadow = e.value("shadow", false);
      if (shadow && e["type"] == "segment.start" && e["segment"]["label"] == "pour") start = true;
      if (shadow && e["type"] == "segment.end" && e["segment"]["label"] == "pour") end = true;
      if (!shadow && e["type"] == "segment.start" && e["segment"]["label"] == "red") own = true;
    }
    return start && end && own;
  };
  REQUIRE(sub.wait_for(shadow_ended, 30s));
  const auto stopped = d.shadow("cam", {});
  CHECK(stopped["ok"] == true);
  CHECK(stopped["shadow"].is_null());
  d.stop();
  REQUIRE(sub.wait_for([](const auto& evs) { return test::has_status(evs, "cam", "stopped"); }, 10s));
  std::vector<nlohmann::json> own, shadow;
  for (const auto& e : sub.events()) (e.value("shadow", false) ? shadow : own).push_back(e);
  test::check_stream_invariants(own);     // the camera's numbering is untouched by the shadow
  test::check_stream_invariants(shadow);  // the shadow's own: contiguous, every segment ended
  std::size_t shadow_topics = 0;
  for (const auto& topic : sub.topics()) shadow_topics += topic.rfind("cam/shadow.", 0) == 0 ? 1 : 0;
  CHECK(shadow_topics == shadow.size());  // every shadow event on a shadow topic, and only they
  // Sinks, the index and the cluster log read the journal: it holds the camera's events only.
  const auto journal = daemon::Journal::read(dir.path() / "journal", "cam", 0, 100000);
  CHECK(journal.size() == own.size());
  for (const auto& line : journal) CHECK(line.find("\"shadow\"") == std::string::npos);
}
