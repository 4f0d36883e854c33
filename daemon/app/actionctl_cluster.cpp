#include "actionctl_cluster.hpp"

#include "actiond/config/config.hpp"
#include "actiond/daemon/cluster/cluster_log.hpp"
#include "actiond/daemon/cluster/cluster_manager.hpp"
#include "actiond/daemon/cluster/etcd.hpp"

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>

namespace {

namespace fs = std::filesystem;
using actiond::daemon::cluster::ClusterManager;
using actiond::daemon::cluster::EtcdClient;
using nlohmann::json;

struct Options {
  std::string config_dir = "/etc/actiond";
  std::vector<std::string> files;
  std::vector<std::string> ids;
  std::string camera;
  bool as_json = false;
};

actiond::config::DaemonConfig daemon_config(const Options& o) {
  const fs::path dir = fs::absolute(o.config_dir);
  auto d = actiond::config::parse_daemon_config(
      actiond::config::read_json_file((dir / "actiond.json").string(), "actiond.json"), "actiond.json", dir, {});
  if (!d.cluster.enabled) throw actiond::config::ConfigError("actiond.json: /cluster: not set (cluster mode is off)");
  return d;
}

std::string leaf(const std::string& key) { return key.substr(key.rfind('/') + 1); }

int put(const Options& o) {
  const auto d = daemon_config(o);
  EtcdClient etcd(d.cluster.etcd, d.cluster.timeout_s);
  for (const auto& file : o.files) {
    const fs::path p = fs::absolute(file);
    const std::string label = p.filename().string();
    // Exactly the daemon's checks: an invalid file never reaches etcd.
    const auto cam = actiond::config::parse_camera_config(actiond::config::read_json_file(p.string(), label), label, d,
                                                          p.parent_path());
    std::ifstream in(p, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    etcd.put(ClusterManager::key(d.cluster, "cameras", cam.id), text);
    std::cout << "camera " << cam.id << ": stored (" << label << ")\n";
  }
  return 0;
}

int rm(const Options& o) {
  const auto d = daemon_config(o);
  EtcdClient etcd(d.cluster.etcd, d.cluster.timeout_s);
  int missing = 0;
  for (const auto& id : o.ids) {
    if (etcd.remove(ClusterManager::key(d.cluster, "cameras", id))) {
      std::cout << "camera " << id << ": removed\n";
    } else {
      std::cerr << "actionctl: camera " << id << ": not in the cluster\n";
      ++missing;
    }
  }
  return missing == 0 ? 0 : 3;
}

json state(const Options& o) {
  const auto d = daemon_config(o);
  EtcdClient etcd(d.cluster.etcd, d.cluster.timeout_s);
  std::map<std::string, std::string> owners;
  for (const auto& kv : etcd.range(ClusterManager::key(d.cluster, "owners"))) owners[leaf(kv.key)] = kv.value;
  json hosts = json::object();
  for (const auto& kv : etcd.range(ClusterManager::key(d.cluster, "hosts"))) {
    const json h = json::parse(kv.value, nullptr, false);
    const auto [left, granted] = etcd.time_to_live(kv.lease);
    hosts[leaf(kv.key)] = {{"capacity", h.is_object() ? h.value("capacity", 0) : 0},
                           {"cameras", json::array()},
                           {"lease", std::to_string(kv.lease)},
                           {"lease_ttl_s", granted},
                           {"lease_left_s", left},
                           {"since_refresh_s", left < 0 ? -1 : granted - left}};
  }
  json cameras = json::object();
  for (const auto& kv : etcd.range(ClusterManager::key(d.cluster, "cameras"), true)) {
    const std::string id = leaf(kv.key);
    const auto owner = owners.find(id);
    cameras[id] = {{"owner", owner == owners.end() ? json(nullptr) : json(owner->second)}, {"config_revision", kv.mod_revision}};
    if (owner != owners.end() && hosts.contains(owner->second)) hosts[owner->second]["cameras"].push_back(id);
  }
  for (auto& [name, h] : hosts.items()) h["load"] = h["cameras"].size();
  return {{"hosts", hosts}, {"cameras", cameras}, {"revision", etcd.revision()}};
}

int ls(const Options& o) {
  const json s = state(o);
  if (o.as_json) {
    std::cout << s["cameras"].dump() << "\n";
    return 0;
  }
  for (const auto& [id, c] : s["cameras"].items()) {
    std::cout << std::left << std::setw(24) << id << (c["owner"].is_null() ? "(unowned)" : c["owner"].get<std::string>()) << "\n";
  }
  return 0;
}

int status(const Options& o) {
  const json s = state(o);
  if (o.as_json) {
    std::cout << s.dump() << "\n";
    return 0;
  }
  std::cout << "hosts:\n";
  for (const auto& [name, h] : s["hosts"].items()) {
    std::cout << "  " << std::left << std::setw(20) << name << " load " << h["load"] << "/" << h["capacity"]
              << "  lease " << h["lease_left_s"] << " of " << h["lease_ttl_s"] << " s left  cameras " << h["cameras"].dump() << "\n";
  }
  std::cout << "cameras:\n";
  for (const auto& [id, c] : s["cameras"].items()) {
    std::cout << "  " << std::left << std::setw(20) << id << " " << (c["owner"].is_null() ? "(unowned)" : c["owner"].get<std::string>()) << "\n";
  }
  return 0;
}

int events(const Options& o) {
  const auto d = daemon_config(o);
  actiond::daemon::cluster::ClusterLog::Options lo;
  lo.url = d.cluster.nats;
  lo.stream = d.cluster.stream;
  lo.prefix = d.cluster.prefix;
  lo.host = "actionctl";
  lo.timeout_s = d.cluster.timeout_s;
  actiond::daemon::cluster::ClusterLog log(lo, nullptr, nullptr);
  for (const auto& m : log.read_all(o.camera)) std::cout << m.dump() << "\n";
  return 0;
}

}  // namespace

std::function<int()> add_cluster_commands(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cluster = app.add_subcommand("cluster", "cluster mode: cameras in etcd, owners, the JetStream log");
  cluster->require_subcommand(1);
  cluster->add_option("--config", o->config_dir, "folder with actiond.json (its /cluster section)")->capture_default_str();
  auto* put_cmd = cluster->add_subcommand("put", "validate camera files as the daemon does and store them in etcd");
  put_cmd->add_option("files", o->files, "camera files")->required()->check(CLI::ExistingFile);
  auto* rm_cmd = cluster->add_subcommand("rm", "remove cameras from the cluster (their owners stop them)");
  rm_cmd->add_option("ids", o->ids, "camera ids")->required();
  auto* ls_cmd = cluster->add_subcommand("ls", "cameras and their owners");
  auto* status_cmd = cluster->add_subcommand("status", "hosts, load, cameras and their owners, lease ages");
  auto* events_cmd = cluster->add_subcommand("events", "the cluster's event log (JetStream), one JSON line per message");
  events_cmd->add_option("--camera", o->camera, "only this camera");
  for (auto* sub : {ls_cmd, status_cmd}) sub->add_flag("--json", o->as_json, "JSON instead of text");
  return [&app, o, cluster, put_cmd, rm_cmd, ls_cmd, status_cmd]() -> int {
    if (!app.got_subcommand(cluster)) return -1;
    if (cluster->got_subcommand(put_cmd)) return put(*o);
    if (cluster->got_subcommand(rm_cmd)) return rm(*o);
    if (cluster->got_subcommand(ls_cmd)) return ls(*o);
    if (cluster->got_subcommand(status_cmd)) return status(*o);
    return events(*o);
  };
}
