// The transfer progress display of copy, push and pull, on stderr: on a
// terminal one line per blob in flight plus an overall line, redrawn in place
// (ANSI escapes) at most 10 times a second; plain lines when asked for on a
// pipe; nothing otherwise. stdout, which carries the commands' data, is never
// touched.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace coras::cli {

/// How progress is shown.
enum class progress_mode {
  off,       ///< nothing
  terminal,  ///< redrawn in place on a terminal
  lines,     ///< plain lines (a pipe, a log file, a dumb terminal)
};

/// The mode for a command: `terminal` when stderr is a terminal (not
/// TERM=dumb) and neither -v (its request log would be torn up by the
/// redraws) nor --no-progress is given; `lines` with --progress when
/// `terminal` is not possible; `off` otherwise.
progress_mode choose_progress_mode(bool progress_option, bool no_progress_option, bool verbose);

/// The display. Thread-safe: every member may be called from any thread.
/// A thread of its own redraws it (at most every 100 ms) between `start` and
/// `stop`; nothing is drawn in mode `off`.
class progress {
 public:
  /// `verb` says what happens to a blob ("copied", "pushed", "pulled"),
  /// `noun` what is counted ("file": "1 file", "2 files").
  progress(progress_mode mode, std::string verb, std::string noun);
  /// Stops the display (see `stop`) if it still runs.
  ~progress();
  progress(const progress&) = delete;
  progress& operator=(const progress&) = delete;

  progress_mode mode() const noexcept;

  /// Starts the clock and the redrawing thread.
  void start();
  /// The total bytes expected, when known beforehand (push, pull).
  void expect(std::uint64_t total_bytes);
  /// Blob `id` (a digest, or a file name) is being transferred: `done` of
  /// `total` bytes so far. The first call shows it, under `label`
  /// (shortened digests are made here: give the full one).
  void update(const std::string& id, std::string_view label, std::uint64_t done,
              std::uint64_t total);
  /// Like `update`, but the redrawing thread asks `poll` for `done` before
  /// each redraw (for transfers that report nothing themselves). `poll` must
  /// stay callable until `end(id…)`.
  void watch(const std::string& id, std::string_view label, std::uint64_t total,
             std::function<std::uint64_t()> poll);
  /// Blob `id` is complete: `how` is the verb ("copied", "skipped",
  /// "mounted"…); `size` bytes count as transferred unless it was
  /// "skipped" or "mounted". An id never updated is counted too (a manifest).
  void end(const std::string& id, std::string_view label, std::string_view how, std::uint64_t size);
  /// Prints `text` on a line of its own (above the display on a terminal);
  /// in mode `off` straight to stderr. Control characters in `text` (and in
  /// the labels of `watch` and `end`) are shown as \xNN (`one_line`): they
  /// may come from a manifest.
  void note(std::string_view text);
  /// Stops redrawing, erases the display and prints the summary line
  /// (unless `off`, or `quiet`: e.g. after a failure, whose message follows).
  void stop(bool quiet = false);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

/// "1.5 MiB", "812 B", "3.2 GiB".
std::string human_bytes(std::uint64_t n);
/// "sha256:0123456789ab": the algorithm and the first 12 hex digits.
std::string short_digest(std::string_view digest);

}  // namespace coras::cli
