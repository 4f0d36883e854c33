#include "actiond/daemon/cluster/etcd.hpp"

#include <httplib.h>
#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace actiond::daemon::cluster {

using nlohmann::json;

namespace {


// The first key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = prefix.back();
    if (static_cast<unsigned char>(last) < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

std::int64_t number(const json& j, const char* key) {
  if (!j.contains(key)) return 0;
  const auto& v = j.at(key);
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<std::int64_t>();
}

KeyValue key_value(const json& kv) {
  KeyValue out;
  out.key = EtcdClient::unbase64(kv.value("key", ""));
  out.value = EtcdClient::unbase64(kv.value("value", ""));
  out.create_revision = number(kv, "create_revision");
  out.mod_revision = number(kv, "mod_revision");
  out.lease = number(kv, "lease");
  return out;
}

}  // namespace

EtcdClient::EtcdClient(std::vector<std::string> endpoints, double timeout_s)
    : endpoints_(std::move(endpoints)), timeout_s_(timeout_s) {
  if (endpoints_.empty()) throw EtcdError("etcd: no endpoint");
}

std::string EtcdClient::base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

std::string EtcdClient::unbase64(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0) return {};
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return {};
  // EVP_DecodeBlock counts the padding as zero bytes: take them off.
  std::size_t size = static_cast<std::size_t>(n);
  for (auto it = in.rbegin(); it != in.rend() && *it == '=' && size > 0; ++it) --size;
  out.resize(size);
  return out;
}

std::string EtcdClient::call(const std::string& path, const std::string& body) {
  std::string errors;
  for (std::size_t tried = 0; tried < endpoints_.size(); ++tried) {
    const std::string& url = endpoints_[(current_ + tried) % endpoints_.size()];
    httplib::Client client(url);
    const auto t = std::chrono::duration<double>(timeout_s_);
    client.set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(t));
    client.set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(t));
    client.set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(t));
    ++requests_;
    const auto res = client.Post(path, body, "application/json");
    if (!res) {
      errors += (errors.empty() ? "" : "; ") + url + ": " + httplib::to_string(res.error());
      continue;
    }
    if (res->status != 200) {
      throw EtcdError("etcd " + url + path + ": HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 200));
    }
    current_ = (current_ + tried) % endpoints_.size();
    return res->body;
  }
  throw EtcdError("etcd " + path + ": no endpoint answered (" + errors + ")");
}

namespace {
json parse(const std::string& text, const std::string& what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw EtcdError("etcd " + what + ": not JSON: " + text.substr(0, 200));
  if (j.contains("error")) throw EtcdError("etcd " + what + ": " + j.value("error", std::string("?")));
  return j;
}
}  // namespace

std::int64_t EtcdClient::grant(int ttl_s) {
  const json j = parse(call("/v3/lease/grant", json{{"TTL", ttl_s}}.dump()), "lease grant");
  const std::int64_t id = number(j, "ID");
  if (id == 0) throw EtcdError("etcd lease grant: no lease in the answer");
  return id;
}

int EtcdClient::keepalive(std::int64_t lease) {
  const json j = parse(call("/v3/lease/keepalive", json{{"ID", std::to_string(lease)}}.dump()), "lease keepalive");
  if (!j.contains("result")) return 0;
  return static_cast<int>(number(j.at("result"), "TTL"));
}

void EtcdClient::revoke(std::int64_t lease) {
  call("/v3/lease/revoke", json{{"ID", std::to_string(lease)}}.dump());
}

std::pair<int, int> EtcdClient::time_to_live(std::int64_t lease) {
  const json j = parse(call("/v3/lease/timetolive", json{{"ID", std::to_string(lease)}}.dump()), "lease time to live");
  return {j.contains("TTL") ? static_cast<int>(number(j, "TTL")) : -1, static_cast<int>(number(j, "grantedTTL"))};
}

void EtcdClient::put(const std::string& key, const std::string& value, std::int64_t lease) {
  json body{{"key", base64(key)}, {"value", base64(value)}};
  if (lease != 0) body["lease"] = std::to_string(lease);
  const json j = parse(call("/v3/kv/put", body.dump()), "put " + key);
  if (j.contains("header")) revision_ = number(j.at("header"), "revision");
}

std::vector<KeyValue> EtcdClient::range(const std::string& prefix, bool keys_only) {
  json body{{"key", base64(prefix)}, {"range_end", base64(prefix_end(prefix))}};
  if (keys_only) body["keys_only"] = true;
  const json j = parse(call("/v3/kv/range", body.dump()), "range " + prefix);
  if (j.contains("header")) revision_ = number(j.at("header"), "revision");
  std::vector<KeyValue> out;
  for (const auto& kv : j.value("kvs", json::array())) out.push_back(key_value(kv));
  return out;
}

std::optional<KeyValue> EtcdClient::get(const std::string& key) {
  const json j = parse(call("/v3/kv/range", json{{"key", base64(key)}}.dump()), "get " + key);
  if (j.contains("header")) revision_ = number(j.at("header"), "revision");
  const auto kvs = j.value("kvs", json::array());
  if (kvs.empty()) return std::nullopt;
  return key_value(kvs.front());
}

bool EtcdClient::create(const std::string& key, const std::string& value, std::int64_t lease) {
  json put{{"key", base64(key)}, {"value", base64(value)}};
  if (lease != 0) put["lease"] = std::to_string(lease);
  const json body{{"compare", json::array({{{"target", "CREATE"}, {"key", base64(key)}, {"createRevision", "0"}}})},
                  {"success", json::array({{{"requestPut", put}}})}};
  const json j = parse(call("/v3/kv/txn", body.dump()), "create " + key);
  if (j.contains("header")) revision_ = number(j.at("header"), "revision");
  return j.value("succeeded", false);
}

bool EtcdClient::remove_if(const std::string& key, const std::string& value) {
  const json body{{"compare", json::array({{{"target", "VALUE"}, {"key", base64(key)}, {"value", base64(value)}}})},
                  {"success", json::array({{{"requestDeleteRange", {{"key", base64(key)}}}}})}};
  const json j = parse(call("/v3/kv/txn", body.dump()), "delete " + key);
  if (j.contains("header")) revision_ = number(j.at("header"), "revision");
  return j.value("succeeded", false);
}

bool EtcdClient::remove(const std::string& key) {
  const json j = parse(call("/v3/kv/deleterange", json{{"key", base64(key)}}.dump()), "delete " + key);
  if (j.contains("header")) revision_ = number(j.at("header"), "revision");
  return number(j, "deleted") > 0;
}

}  // namespace actiond::daemon::cluster
