#pragma once
// Progress of an offline tool. On a terminal: one line redrawn in place (carriage return). Anywhere
// else (a log, CI output, a pipe, a string stream): no carriage returns and no intermediate states,
// one plain line per finished item.
//
// Thread-safety: one thread.
#include <iostream>
#include <ostream>
#include <string>

#include <unistd.h>

namespace actiond::tools::detail {

class Progress {
 public:
  explicit Progress(std::ostream& out)
      : out_(out),
        terminal_((&out == &std::cerr && isatty(STDERR_FILENO)) || (&out == &std::cout && isatty(STDOUT_FILENO))) {}
  ~Progress() {
    if (terminal_ && drawn_) out_ << "\n" << std::flush;
  }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // An intermediate state: drawn on a terminal only.
  void update(const std::string& line) {
    if (!terminal_) return;
    out_ << "\r" << line << "   " << std::flush;
    drawn_ = true;
  }
  // A finished item: redrawn on a terminal, a line of its own elsewhere.
  void item_done(const std::string& line) {
    if (terminal_) {
      update(line);
    } else {
      out_ << line << "\n" << std::flush;
    }
  }
  // Ends the redrawn line (before other output).
  void finish() {
    if (terminal_ && drawn_) out_ << "\n" << std::flush;
    drawn_ = false;
  }

 private:
  std::ostream& out_;
  bool terminal_;
  bool drawn_ = false;
};

// "[#####     ]" of `done` out of `total`.
inline std::string bar(std::size_t done, std::size_t total, int width = 30) {
  const int filled = total ? static_cast<int>(static_cast<std::size_t>(width) * done / total) : width;
  return "[" + std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), ' ') + "]";
}

}  // namespace actiond::tools::detail
