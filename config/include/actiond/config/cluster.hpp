#pragma once
// Cluster mode (actiond.json "cluster": {...}): cameras live in etcd, each owned by one host through
// an etcd lease, events go to a NATS JetStream stream (docs/SCALING.md). Absent: single-host mode.
//
// Thread-safety: immutable after parsing.
#include "actiond/config/json_reader.hpp"

#include <string>
#include <vector>

namespace actiond::config {

struct ClusterSettings {
  bool enabled = false;
  std::vector<std::string> etcd;     // client URLs, http://HOST:PORT (tried in order)
  std::string nats = "nats://127.0.0.1:4222";
  std::string host;                  // this host's name in the cluster; default: the machine's hostname
  int capacity = 16;                 // cameras this host runs at most
  double lease_ttl_s = 5.0;          // a host silent this long loses its cameras
  std::string prefix = "actiond";    // etcd keys /<prefix>/..., JetStream subjects <prefix>.events.<camera>
  std::string stream = "ACTIOND";    // the JetStream stream (created when missing)
  int balance_margin = 2;            // a camera moves only from a host with at least this many more
  double poll_s = 1.0;               // how often a host reads the cluster state
  double timeout_s = 2.0;            // per etcd / JetStream request
  bool operator==(const ClusterSettings&) const = default;
};

// Reads root["cluster"] (absent: disabled).
ClusterSettings parse_cluster(ObjectReader& root);

}  // namespace actiond::config
