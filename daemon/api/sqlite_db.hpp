#pragma once
// Private: small RAII owners of a SQLite connection and a prepared statement. Errors throw
// std::runtime_error naming the database file and SQLite's message.
//
// Thread-safety: one thread per connection (and its statements).
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace actiond::daemon::detail {

class Db {
 public:
  Db(const std::filesystem::path& path, bool read_only) : path_(path.string()) {
    const int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw std::runtime_error(path_ + ": " + why);
    }
    sqlite3_busy_timeout(db_, 2000);
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      const std::string why = err != nullptr ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      throw std::runtime_error(path_ + ": " + why);
    }
  }
  std::int64_t scalar(const std::string& sql);
  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(Db& db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &st_, nullptr) != SQLITE_OK) fail();
  }
  ~Statement() { sqlite3_finalize(st_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(st_, i, v)); }
  void bind(int i, const std::string& v) { check(sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT)); }
  void bind(int i, const std::optional<std::string>& v) {
    if (v) bind(i, *v);
    else check(sqlite3_bind_null(st_, i));
  }
  // True while there is a row; false when done.
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail();
    return false;
  }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  std::int64_t column_int(int i) const { return sqlite3_column_int64(st_, i); }
  std::string column_text(int i) const {
    const auto* p = sqlite3_column_text(st_, i);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, i)))
                        : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail();
  }
  [[noreturn]] void fail() { throw std::runtime_error(db_.path() + ": " + sqlite3_errmsg(db_.get())); }
  Db& db_;
  sqlite3_stmt* st_ = nullptr;
};

inline std::int64_t Db::scalar(const std::string& sql) {
  Statement st(*this, sql);
  return st.step() ? st.column_int(0) : 0;
}

}  // namespace actiond::daemon::detail
