// CURVE on both sockets with a client allow-list: an allowed client gets events and control replies;
// a client with another key, and a plain client, get nothing; the secret key is never logged.
#include "actiond/config/log.hpp"
#include "actiond/daemon/runtime/daemon.hpp"

#include "daemon_fixtures.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>

#include <sstream>
#include <zmq.hpp>

using namespace actiond;
using namespace actiond::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// While it lives, every log line of every module logger (existing and future), at every level, also
// lands in text(); the destructor takes the sink out of every logger again (no dangling stream).
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    config::module_log("test");  // makes sure a default logger exists
    spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->sinks().push_back(sink_); });
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::set_level(spdlog::level::trace);
  }
  ~LogCapture() {
    auto drop = [&](const std::shared_ptr<spdlog::logger>& l) {
      auto& sinks = l->sinks();
      sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
    };
    spdlog::apply_all(drop);
    drop(spdlog::default_logger());
    spdlog::set_level(spdlog::level::info);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

struct KeyPair {
  std::string pub;
  std::string secret;
};

KeyPair make_keys() {
  char pub[41] = {};
  char secret[41] = {};
  REQUIRE(zmq_curve_keypair(pub, secret) == 0);
  return {pub, secret};
}

// A control request; nullopt when no reply comes within 2 s (refused during the handshake).
std::optional<json> control(const std::string& endpoint, const CurveKeys& keys) {
  zmq::context_t ctx(1);
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::rcvtimeo, 2000);
  req.set(zmq::sockopt::linger, 0);
  if (!keys.server_public.empty()) {
    req.set(zmq::sockopt::curve_serverkey, keys.server_public);
    req.set(zmq::sockopt::curve_publickey, keys.client_public);
    req.set(zmq::sockopt::curve_secretkey, keys.client_secret);
  }
  req.connect(endpoint);
  req.send(zmq::buffer(std::string(R"({"cmd":"status"})")), zmq::send_flags::dontwait);
  zmq::message_t reply;
  if (!req.recv(reply)) return std::nullopt;
  return json::parse(reply.to_string());
}

}  // namespace

TEST_CASE("CURVE with an allow-list: only the allowed client key gets events and control replies",
          "[integration][security]") {
  const KeyPair server = make_keys();
  const KeyPair allowed = make_keys();
  const KeyPair stranger = make_keys();
  TempDir dir;
  dir.write("keys/server.key", "# secret\n" + server.secret + "\n");
  dir.write("keys/clients.txt", "# who may connect\n\n" + allowed.pub + "\n");
  std::string daemon = daemon_json();
  daemon.insert(1, R"("security": {"curve_secret_key_file": "keys/server.key", "allowed_clients_file": "keys/clients.txt"}, )");
  dir.write("actiond.json", daemon);
  dir.write("cameras/desk.json", camera_json("desk", "test://pattern?cycle=red,black&width=160&height=120&fps=10"));

  LogCapture logs;
  daemon::Daemon d(load(dir));
  const CurveKeys good{server.pub, allowed.pub, allowed.secret};
  const CurveKeys bad{server.pub, stranger.pub, stranger.secret};
  EventCollector allowed_sub(d.publish_endpoint(), good);
  EventCollector stranger_sub(d.publish_endpoint(), bad);
  EventCollector plain_sub(d.publish_endpoint());
  d.start();
  REQUIRE(allowed_sub.wait_for([](const auto& ev) { return has_status(ev, "desk", "running"); }, 20s));
  std::this_thread::sleep_for(500ms);
  CHECK(stranger_sub.events().empty());
  CHECK(plain_sub.events().empty());

  const auto ok = control(d.control_endpoint(), good);
  REQUIRE(ok.has_value());
  CHECK((*ok)["ok"] == true);
  CHECK_FALSE(control(d.control_endpoint(), bad).has_value());
  CHECK_FALSE(control(d.control_endpoint(), CurveKeys{}).has_value());
  d.stop();
  const std::string text = logs.text();
  CHECK(text.find("running") != std::string::npos);  // the capture works
  CHECK(text.find(server.secret) == std::string::npos);
  CHECK(text.find(server.secret.substr(0, 20)) == std::string::npos);
}

TEST_CASE("security config errors name the file and key", "[config][security]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"security": {"curve_secret_key_file": "missing.key"}})",
       "actiond.json: /security/curve_secret_key_file: cannot read \"missing.key\""},
      {R"({"security": {"curve_secret_key_file": "short.key"}})",
       "actiond.json: /security/curve_secret_key_file: \"short.key\" line 1 is not a Z85 key (40 characters)"},
      {R"({"security": {"allowed_clients_file": "clients.txt"}})",
       "actiond.json: /security/allowed_clients_file: needs \"curve_secret_key_file\" as well"},
      {R"({"security": {"curve_secret_key_file": "two.key"}})",
       "actiond.json: /security/curve_secret_key_file: \"two.key\" must hold exactly one key"},
      {R"({"security": {"curve": true}})",
       "actiond.json: /security/curve: unknown key (expected one of: allowed_clients_file, curve_secret_key_file)"},
  };
  const KeyPair k = make_keys();
  for (const auto& [daemon, message] : cases) {
    TempDir dir;
    dir.write("short.key", "abc\n");
    dir.write("two.key", k.secret + "\n" + k.secret + "\n");
    dir.write("clients.txt", k.pub + "\n");
    dir.write("actiond.json", daemon);
    INFO(daemon);
    try {
      load(dir);
      FAIL("no error");
    } catch (const config::ConfigError& e) {
      CHECK(std::string(e.what()) == message);
    }
  }
}
