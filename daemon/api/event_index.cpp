#include "actiond/daemon/api/event_index.hpp"

#include "actiond/config/log.hpp"
#include "actiond/daemon/journal/journal.hpp"
#include "actiond/daemon/journal/journal_reader.hpp"
#include "sqlite_db.hpp"

#include <nlohmann/json.hpp>

#include <ctime>
#include <map>
#include <stdexcept>

namespace actiond::daemon {

namespace fs = std::filesystem;
using detail::Db;
using detail::Statement;

namespace {

spdlog::logger& logger() { return config::module_log("api"); }

constexpr int kSchemaVersion = 1;

void create_schema(Db& db) {
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");
  db.exec(
      "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, camera TEXT NOT NULL, seq INTEGER NOT NULL, "
      "type TEXT NOT NULL, label TEXT, segment TEXT, time_ms INTEGER NOT NULL, body TEXT NOT NULL, "
      "UNIQUE (camera, seq))");
  db.exec("CREATE INDEX IF NOT EXISTS events_time ON events (time_ms)");
  db.exec("CREATE INDEX IF NOT EXISTS events_camera_time ON events (camera, time_ms)");
  db.exec("CREATE INDEX IF NOT EXISTS events_segment ON events (segment)");
  db.exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
}

// The columns an event is filtered on.
struct Columns {
  std::string type;
  std::optional<std::string> label;
  std::optional<std::string> segment;
  std::int64_t time_ms = 0;
};

std::optional<std::string> string_at(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<Columns> columns_of(const nlohmann::json& ev) {
  Columns c;
  const auto type = string_at(ev, "type");
  if (!type) return std::nullopt;
  c.type = *type;
  c.label = string_at(ev, "label");
  c.segment = string_at(ev, "segment_id");
  if (const auto seg = ev.find("segment"); seg != ev.end() && seg->is_object()) {
    c.label = string_at(*seg, "label");
    c.segment = string_at(*seg, "id");
  }
  auto time = string_at(ev, "time");
  if (!time) time = string_at(ev, "emitted_at");
  const auto ms = time ? parse_utc_ms(*time) : std::nullopt;
  c.time_ms = ms.value_or(0);
  return c;
}

}  // namespace

std::optional<std::int64_t> parse_utc_ms(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 || used != 19) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    int digits = 0;
    for (++pos; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos, ++digits) {
      if (digits < 3) ms = ms * 10 + (text[pos] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  const std::string zone = text.substr(pos);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

// The follower thread's state: the write connection and each camera's reader.
struct EventIndex::Writer {
  std::unique_ptr<Db> db;
  std::map<std::string, JournalReader> readers;
  std::chrono::steady_clock::time_point last_prune{};
};

namespace {

// Opens the index for writing; a database it cannot use is deleted and made again.
std::unique_ptr<Db> open_writer(const fs::path& path, std::atomic<std::uint64_t>& rebuilds) {
  try {
    auto db = std::make_unique<Db>(path, false);
    const std::int64_t version = db->scalar("PRAGMA user_version");
    if (version == kSchemaVersion || version == 0) {
      create_schema(*db);
      return db;
    }
    logger().warn("event index {}: schema version {} (expected {}): rebuilding it from the journal", path.string(),
                  version, kSchemaVersion);
  } catch (const std::exception& e) {
    logger().warn("event index: {}: rebuilding it from the journal", e.what());
  }
  ++rebuilds;
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path.string() + suffix, ec);
  auto db = std::make_unique<Db>(path, false);
  create_schema(*db);
  return db;
}

}  // namespace

EventIndex::EventIndex(Options options) : opt_(std::move(options)), writer_(std::make_unique<Writer>()) {
  std::error_code ec;
  fs::create_directories(opt_.db.parent_path(), ec);
  writer_->db = open_writer(opt_.db, rebuilds_);  // throws naming the file when even that fails
  newest_id_ = writer_->db->scalar("SELECT COALESCE(MAX(id), 0) FROM events");
  thread_ = std::thread([this] { run(); });
}

EventIndex::~EventIndex() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void EventIndex::run() {
  auto& w = *writer_;
  while (!stop_) {
    try {
      const bool prune = std::chrono::steady_clock::now() - w.last_prune >= opt_.prune;
      for (const auto& camera : Journal::cameras(opt_.journal_dir)) {
        auto it = w.readers.find(camera);
        if (it == w.readers.end()) {
          Statement max(*w.db, "SELECT COALESCE(MAX(seq), 0) FROM events WHERE camera = ?1");
          max.bind(1, camera);
          std::int64_t newest = max.step() ? max.column_int(0) : 0;
          const auto last = Journal::last(opt_.journal_dir, camera).seq;
          if (newest > 0 && static_cast<std::uint64_t>(newest) > last) {
            logger().warn("event index: camera {} has seq {} indexed but its journal ends at {}: re-indexing it",
                          camera, newest, last);
            Statement del(*w.db, "DELETE FROM events WHERE camera = ?1");
            del.bind(1, camera);
            del.step();
            newest = 0;
          }
          it = w.readers.emplace(camera, JournalReader(opt_.journal_dir, camera, static_cast<std::uint64_t>(newest) + 1))
                   .first;
        }
        for (int batch = 0; batch < 50 && !stop_; ++batch) {
          const auto events = it->second.read(500);
          if (events.empty()) break;
          w.db->exec("BEGIN");
          Statement ins(*w.db,
                        "INSERT OR IGNORE INTO events (camera, seq, type, label, segment, time_ms, body) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
          for (const auto& ev : events) {
            const auto cols = columns_of(nlohmann::json::parse(ev.line, nullptr, false));
            if (!cols) continue;
            ins.reset();
            ins.bind(1, camera);
            ins.bind(2, static_cast<std::int64_t>(ev.seq));
            ins.bind(3, cols->type);
            ins.bind(4, cols->label);
            ins.bind(5, cols->segment);
            ins.bind(6, cols->time_ms);
            ins.bind(7, ev.line);
            ins.step();
            ++indexed_;
          }
          w.db->exec("COMMIT");
        }
        if (prune) {
          const auto first = Journal::first_seq(opt_.journal_dir, camera);
          Statement del(*w.db, "DELETE FROM events WHERE camera = ?1 AND seq < ?2");
          del.bind(1, camera);
          del.bind(2, static_cast<std::int64_t>(first.value_or(0)));
          del.step();
        }
      }
      if (prune) w.last_prune = std::chrono::steady_clock::now();
      newest_id_ = w.db->scalar("SELECT COALESCE(MAX(id), 0) FROM events");
    } catch (const std::exception& e) {
      ++failures_;
      logger().error("event index {}: {}", opt_.db.string(), e.what());
      try {
        w.db->exec("ROLLBACK");
      } catch (const std::exception&) {
      }
    }
    for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(opt_.poll / 10);
  }
}

std::vector<IndexedEvent> EventIndex::query(const EventQuery& q) const {
  Db db(opt_.db, true);
  std::string sql = "SELECT id, camera, seq, body FROM events WHERE 1";
  if (q.camera) sql += " AND camera = ?1";
  if (q.type) sql += q.type->back() == '.' ? " AND type LIKE ?2 || '%'" : " AND type = ?2";
  if (q.label) sql += " AND label = ?3";
  if (q.segment) sql += " AND segment = ?4";
  if (q.since_ms) sql += " AND time_ms >= ?5";
  if (q.until_ms) sql += " AND time_ms < ?6";
  if (q.after_id) sql += " AND id > ?7";
  if (q.until_id) sql += " AND id < ?9";
  sql += q.newest_first ? " ORDER BY id DESC" : " ORDER BY id ASC";
  sql += " LIMIT ?8";
  Statement st(db, sql);
  if (q.camera) st.bind(1, *q.camera);
  if (q.type) st.bind(2, *q.type);
  if (q.label) st.bind(3, *q.label);
  if (q.segment) st.bind(4, *q.segment);
  if (q.since_ms) st.bind(5, *q.since_ms);
  if (q.until_ms) st.bind(6, *q.until_ms);
  if (q.after_id) st.bind(7, *q.after_id);
  st.bind(8, static_cast<std::int64_t>(q.limit));
  if (q.until_id) st.bind(9, *q.until_id);
  std::vector<IndexedEvent> out;
  while (st.step()) {
    out.push_back({st.column_int(0), st.column_text(1), static_cast<std::uint64_t>(st.column_int(2)), st.column_text(3)});
  }
  return out;
}

}  // namespace actiond::daemon
