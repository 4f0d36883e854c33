#include "actiond/config/config.hpp"

#include "config_errors.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

using actiond::config::load_config;
using actiond::test::TempDir;

TEST_CASE("cluster settings: off by default, defaults, values", "[config][cluster]") {
  TempDir plain;
  plain.write("actiond.json", "{}");
  CHECK_FALSE(load_config(plain.path())->daemon.cluster.enabled);

  TempDir dir;
  dir.write("actiond.json", R"({"cluster": {}})");
  const auto c = load_config(dir.path())->daemon.cluster;
  CHECK(c.enabled);
  CHECK(c.etcd == std::vector<std::string>{"http://127.0.0.1:2379"});
  CHECK(c.nats == "nats://127.0.0.1:4222");
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  CHECK(c.host == std::string(name).substr(0, std::string(name).find('.')));
  CHECK(c.capacity == 16);
  CHECK(c.lease_ttl_s == 5.0);
  CHECK(c.prefix == "actiond");
  CHECK(c.stream == "ACTIOND");
  CHECK(c.balance_margin == 2);

  TempDir set;
  set.write("actiond.json", R"({"cluster": {"etcd": ["http://10.0.0.1:2379", "http://10.0.0.2:2379"], "host": "rack1-a",
                                             "capacity": 30, "lease_ttl_s": 4, "poll_s": 0.5, "prefix": "site-7",
                                             "stream": "SITE7", "balance_margin": 3, "nats": "nats://10.0.0.9:4222"}})");
  const auto s = load_config(set.path())->daemon.cluster;
  CHECK(s.etcd.size() == 2);
  CHECK(s.host == "rack1-a");
  CHECK(s.capacity == 30);
  CHECK(s.prefix == "site-7");
  CHECK(s.balance_margin == 3);
}

TEST_CASE("cluster settings: exact errors", "[config][cluster]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"cluster": {"etcd": ["10.0.0.1:2379"]}})",
       "actiond.json: /cluster/etcd: each entry must be http://HOST:PORT, got \"10.0.0.1:2379\""},
      {R"({"cluster": {"etcd": []}})", "actiond.json: /cluster/etcd: must list at least one etcd client URL"},
      {R"({"cluster": {"nats": "tcp://x:1"}})", "actiond.json: /cluster/nats: must be nats://HOST:PORT, got \"tcp://x:1\""},
      {R"({"cluster": {"host": "a.b"}})",
       "actiond.json: /cluster/host: must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}, got \"a.b\""},
      {R"({"cluster": {"prefix": "a/b"}})",
       "actiond.json: /cluster/prefix: must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}, got \"a/b\""},
      {R"({"cluster": {"lease_ttl_s": 1}})", "actiond.json: /cluster/lease_ttl_s: must be between 2 and 600, got 1"},
      {R"({"cluster": {"balance_margin": 1}})", "actiond.json: /cluster/balance_margin: must be between 2 and 10000, got 1"},
      {R"({"cluster": {"lease_ttl_s": 4, "poll_s": 2}})",
       "actiond.json: /cluster/poll_s: must be less than half of lease_ttl_s (4.000000)"},
      {R"({"cluster": {"ttl": 4}})",
       "actiond.json: /cluster/ttl: unknown key (expected one of: balance_margin, capacity, enabled, etcd, host, "
       "lease_ttl_s, nats, poll_s, prefix, stream, timeout_s)"},
      {R"({"cluster": {}, "sinks": [{"name": "m", "type": "mqtt"}]})",
       "actiond.json: /cluster: cannot be used with \"sinks\": in cluster mode events go to JetStream stream "
       "\"ACTIOND\"; deliver onwards from there"},
      {R"({"cluster": {}, "journal": {"enabled": false}})",
       "actiond.json: /cluster: needs the journal (\"journal\": {\"enabled\": true})"},
  };
  for (const auto& [daemon, message] : cases) {
    INFO(daemon);
    CHECK(actiond::test::config_load_error({{"actiond.json", daemon}}) == message);
  }
  CHECK(actiond::test::config_load_error({{"actiond.json", R"({"cluster": {}})"},
                                          {"cameras/door.json", R"({"id": "door", "uri": "test://pattern"})"}})
            .find("actiond.json: /cluster: cameras come from etcd in cluster mode, but ") == 0);
}
