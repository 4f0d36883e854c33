// The cluster's JetStream log against a real nats-server -js: terms, the owner seal, fencing of a
// stale writer by Nats-Expected-Last-Subject-Sequence, the state a new owner continues from.
#include "actiond/daemon/cluster/cluster_log.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

using actiond::daemon::cluster::ClusterLog;
using nlohmann::json;

namespace {

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// nats-server -js on a free loopback port, in a temporary store; killed at the end.
struct NatsServer {
  int port = free_port();
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("actiond-js-" + std::to_string(::getpid()));
  pid_t pid = -1;
  NatsServer() {
    std::filesystem::create_directories(dir);
    const std::string p = std::to_string(port), sd = dir.string();
    pid = ::fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl("/usr/sbin/nats-server", "nats-server", "-js", "-a", "127.0.0.1", "-p", p.c_str(), "-sd", sd.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {  // until it listens
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
      ::close(fd);
      if (up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~NatsServer() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    std::filesystem::remove_all(dir);
  }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port); }
};

ClusterLog::Options options(const NatsServer& s, const std::string& host) {
  ClusterLog::Options o;
  o.url = s.url();
  o.stream = "TEST";
  o.prefix = "t";
  o.host = host;
  o.timeout_s = 2.0;
  return o;
}

std::string event(std::uint64_t seq, const std::string& type, const std::string& segment = "") {
  json j{{"type", type}, {"camera", "door"}, {"seq", seq}, {"epoch", 1}, {"pts", seq * 0.2},
         {"event_id", "door-x-" + std::to_string(seq)}, {"emitted_at", "2026-11-28T00:00:00.000Z"}};
  if (!segment.empty()) j["segment"] = {{"id", segment}, {"label", "red"}};
  return j.dump();
}

}  // namespace

TEST_CASE("cluster log: a new owner seals the subject and a stale owner's writes are refused", "[cluster][integration]") {
  if (!std::filesystem::exists("/usr/sbin/nats-server")) {
    WARN("skipped: nats-server is not installed");
    return;
  }
  NatsServer server;
  std::atomic<int> fenced_a{0};
  std::atomic<bool> a_lease{true};
  ClusterLog a(options(server, "a"), [&] { return a_lease.load(); }, [&](const std::string& camera, const std::string& why) {
    CHECK(camera == "door");
    CHECK(why.find("another host wrote to t.events.door") != std::string::npos);
    ++fenced_a;
  });
  ClusterLog b(options(server, "b"), nullptr, nullptr);

  const auto first = a.begin_term("door", false);
  CHECK_FALSE(first.found);
  CHECK(first.takeover == actiond::daemon::cluster::Takeover::start);
  a.push("door", 1, event(1, "stream.status"));
  a.push("door", 2, event(2, "segment.start", "s1"));
  REQUIRE(a.wait_delivered("door", 2, std::chrono::seconds(10)));

  // a's lease is in doubt: what it journals now waits and is never published as a's.
  a_lease = false;
  a.push("door", 3, event(3, "segment.update", "s1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(a.counters().published == 2);

  // b takes over as if a had died: it continues after seq 2 and sees the open segment.
  const auto taken = b.begin_term("door", false);
  CHECK(taken.found);
  CHECK(taken.takeover == actiond::daemon::cluster::Takeover::failover);
  CHECK(taken.host == "a");
  CHECK(taken.seq == 2);
  CHECK(taken.epoch == 1);
  REQUIRE(taken.open_segment_event.is_object());
  CHECK(taken.open_segment_event["segment"]["id"] == "s1");

  // a wakes up believing its lease is fine: the server refuses its write (fencing).
  a_lease = true;
  REQUIRE(a.wait_delivered("door", 3, std::chrono::seconds(10)));
  CHECK(fenced_a == 1);
  CHECK(a.counters().fenced == 1);
  a.push("door", 4, event(4, "segment.end", "s1"));  // after being fenced: dropped as stale
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(a.counters().stale >= 1);

  b.push("door", 3, event(3, "segment.end", "s1"));
  REQUIRE(b.wait_delivered("door", 3, std::chrono::seconds(10)));
  CHECK(b.counters().published == 1);
  CHECK(b.last("door").open_segment_event.is_null());  // ended: nothing open any more

  // A clean release: the next owner starts, no failover.
  b.release_term("door", "handoff");
  const auto after = a.begin_term("door", true);
  CHECK(after.takeover == actiond::daemon::cluster::Takeover::handoff);
  CHECK(after.seq == 3);

  const auto all = b.read_all("door");
  std::vector<std::string> seen;
  for (const auto& m : all) {
    seen.push_back(m["kind"].get<std::string>() + ":" + m["host"].get<std::string>() + ":" +
                   (m["kind"] == "event" ? std::to_string(m["body"]["seq"].get<int>()) : m["body"]["type"].get<std::string>()));
  }
  CHECK(seen == std::vector<std::string>{"owner:a:cluster.owner", "event:a:1", "event:a:2", "owner:b:cluster.owner",
                                         "event:b:3", "release:b:cluster.release", "owner:a:cluster.owner"});
}
