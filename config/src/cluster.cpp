#include "actiond/config/cluster.hpp"

#include <unistd.h>

#include <regex>

namespace actiond::config {

namespace {

std::string machine_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace

ClusterSettings parse_cluster(ObjectReader& root) {
  ClusterSettings c;
  if (!root.has("cluster")) return c;
  ObjectReader r = root.object("cluster");
  c.enabled = r.boolean("enabled", true);
  c.etcd = r.strings("etcd", {"http://127.0.0.1:2379"});
  static const std::regex url_re("^http://[A-Za-z0-9_.\\[\\]:-]+:[0-9]{1,5}$");
  for (const auto& url : c.etcd) {
    if (!std::regex_match(url, url_re)) r.fail("etcd", "each entry must be http://HOST:PORT, got \"" + url + "\"");
  }
  if (c.etcd.empty()) r.fail("etcd", "must list at least one etcd client URL");
  c.nats = r.string("nats", c.nats);
  if (c.nats.rfind("nats://", 0) != 0) r.fail("nats", "must be nats://HOST:PORT, got \"" + c.nats + "\"");
  static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
  c.host = r.string("host", "");
  if (c.host.empty()) {
    c.host = machine_hostname();
    c.host = c.host.substr(0, c.host.find('.'));
  }
  if (!std::regex_match(c.host, name_re)) r.fail("host", "must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}, got \"" + c.host + "\"");
  c.capacity = r.integer_in("capacity", c.capacity, 0, 10000);
  c.lease_ttl_s = r.number_in("lease_ttl_s", c.lease_ttl_s, 2.0, 600.0);
  c.prefix = r.string("prefix", c.prefix);
  if (!std::regex_match(c.prefix, name_re)) r.fail("prefix", "must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}, got \"" + c.prefix + "\"");
  c.stream = r.string("stream", c.stream);
  if (!std::regex_match(c.stream, name_re)) r.fail("stream", "must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}, got \"" + c.stream + "\"");
  c.balance_margin = r.integer_in("balance_margin", c.balance_margin, 2, 10000);
  c.poll_s = r.number_in("poll_s", c.poll_s, 0.1, 60.0);
  c.timeout_s = r.number_in("timeout_s", c.timeout_s, 0.1, 60.0);
  if (c.poll_s >= c.lease_ttl_s / 2) {
    r.fail("poll_s", "must be less than half of lease_ttl_s (" + std::to_string(c.lease_ttl_s) + ")");
  }
  r.finish();
  return c;
}

}  // namespace actiond::config
