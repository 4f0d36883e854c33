#include "actiond/daemon/cluster/etcd.hpp"

#include <catch2/catch.hpp>

using actiond::daemon::cluster::EtcdClient;

TEST_CASE("etcd keys and values: base64 both ways, padding included", "[cluster]") {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "actiond/cameras/door", std::string("\0\xff\x10", 3)}) {
    INFO(s);
    CHECK(EtcdClient::unbase64(EtcdClient::base64(s)) == s);
  }
  CHECK(EtcdClient::base64("ab") == "YWI=");
  CHECK(EtcdClient::base64("a") == "YQ==");
  CHECK(EtcdClient::unbase64("YWJj") == "abc");
  CHECK(EtcdClient::unbase64("not base64!") == "");
}
