// A Kafka cluster for tests: librdkafka's built-in mock cluster, driven over stdin.
// Prints "bootstrap HOST:PORT,..." then reads commands, one per line:
//   create TOPIC PARTITIONS   a topic
//   down | up                 every broker stops/starts answering (a broker outage)
//   dump TOPIC                every message of TOPIC, one JSON line each
//                             ({"partition","offset","key","value","headers"}), then "end"
// and exits at end of input.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <sstream>
#include <string>

namespace {

constexpr int kBrokers = 3;

void dump(const std::string& bootstrap, const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "dump", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err));
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (c == nullptr) {
    std::cout << "error " << err << "\nend" << std::endl;
    return;
  }
  const struct rd_kafka_metadata* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(c, topic.c_str(), nullptr);
  int partitions = 0;
  if (rd_kafka_metadata(c, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
  }
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c, list);
  rd_kafka_topic_partition_list_destroy(list);
  int at_end = 0;
  for (int idle = 0; at_end < partitions && idle < 100;) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m == nullptr) {
      ++idle;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_end;
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      nlohmann::json j = {{"partition", m->partition},
                          {"offset", m->offset},
                          {"key", std::string(static_cast<const char*>(m->key), m->key_len)},
                          {"value", std::string(static_cast<const char*>(m->payload), m->len)}};
      rd_kafka_headers_t* h = nullptr;
      if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          j["headers"][name] = std::string(static_cast<const char*>(value), size);
        }
      }
      std::cout << j.dump() << "\n";
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  std::cout << "end" << std::endl;
}

}  // namespace

int main() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::cerr << "kafka_mock: " << err << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, kBrokers);
  if (mc == nullptr) {
    std::cerr << "kafka_mock: cannot create the mock cluster\n";
    return 1;
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  std::cout << "bootstrap " << bootstrap << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    std::istringstream in(line);
    std::string cmd, topic;
    in >> cmd >> topic;
    if (cmd == "create") {
      int partitions = 1;
      in >> partitions;
      rd_kafka_mock_topic_create(mc, topic.c_str(), partitions, kBrokers);
      std::cout << "ok" << std::endl;
    } else if (cmd == "down" || cmd == "up") {
      for (int b = 1; b <= kBrokers; ++b) {
        if (cmd == "down") rd_kafka_mock_broker_set_down(mc, b);
        else rd_kafka_mock_broker_set_up(mc, b);
      }
      std::cout << "ok" << std::endl;
    } else if (cmd == "dump") {
      dump(bootstrap, topic);
    } else {
      std::cout << "error unknown command " << cmd << std::endl;
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
