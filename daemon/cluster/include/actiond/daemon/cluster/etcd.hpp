#pragma once
// EtcdClient: the etcd v3 calls cluster mode needs, over etcd's JSON gateway (HTTP/1.1, keys and
// values base64 in the body): leases, reads of a prefix, create-if-absent and compare-and-delete
// transactions. Tries the endpoints in order; a request that no endpoint answers throws EtcdError.
//
// Thread-safety: none; one owner thread per client. requests() may be read from any thread.
#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace actiond::daemon::cluster {

struct EtcdError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

class EtcdClient {
 public:
  EtcdClient(std::vector<std::string> endpoints, double timeout_s);

  std::int64_t grant(int ttl_s);                  // a new lease's id
  int keepalive(std::int64_t lease);              // the TTL left after refreshing; 0: the lease is gone
  void revoke(std::int64_t lease);                // deletes the keys bound to it
  std::pair<int, int> time_to_live(std::int64_t lease);  // seconds left (-1: gone) and as granted
  void put(const std::string& key, const std::string& value, std::int64_t lease = 0);
  std::vector<KeyValue> range(const std::string& prefix, bool keys_only = false);  // every key under prefix
  std::optional<KeyValue> get(const std::string& key);
  // Writes key only if it does not exist; true when written.
  bool create(const std::string& key, const std::string& value, std::int64_t lease);
  // Deletes key only if it holds `value`; true when deleted.
  bool remove_if(const std::string& key, const std::string& value);
  bool remove(const std::string& key);            // true when it existed
  std::int64_t revision() const { return revision_; }  // of the last answer
  std::uint64_t requests() const { return requests_.load(); }

  static std::string base64(const std::string& in);
  static std::string unbase64(const std::string& in);

 private:
  std::string call(const std::string& path, const std::string& body);  // the answer's JSON text

  std::vector<std::string> endpoints_;
  double timeout_s_;
  std::size_t current_ = 0;  // the endpoint that answered last
  std::int64_t revision_ = 0;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace actiond::daemon::cluster
