// The progress display: state under one mutex, drawn by a thread of its own
// so that neither the transfers nor their event callbacks ever wait for the
// terminal, and so that the redraw rate does not depend on how often events
// come.
#include "progress.hpp"

#include "options.hpp"

#include <sys/ioctl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace coras::cli {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto redraw_interval = 100ms;    // terminal: at most 10 redraws a second
constexpr auto line_interval = 1000ms;     // lines: an overall line at most every second
constexpr std::size_t max_blob_lines = 8;  // terminal: blobs shown, the rest summed up

void write_stderr(std::string_view text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    auto n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report it
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

// Cuts `line` to fewer than `width` columns (a line that wraps would break the
// cursor arithmetic), not inside a UTF-8 sequence.
std::string fit(std::string line, std::size_t width) {
  if (line.size() < width) return line;
  std::size_t cut = width - 1;
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  line.resize(cut);
  return line;
}

std::string rate_text(double bytes_per_second) {
  if (bytes_per_second < 0) bytes_per_second = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB/s", bytes_per_second / (1024.0 * 1024.0));
  return buf;
}

std::string percent(std::uint64_t done, std::uint64_t total) {
  if (total == 0) return "";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%3u%%",
                static_cast<unsigned>(std::min<std::uint64_t>(done, total) * 100 / total));
  return buf;
}

}  // namespace

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n) / 1024.0;
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string short_digest(std::string_view digest) {
  const auto colon = digest.find(':');
  if (colon == std::string_view::npos) return std::string(digest.substr(0, 12));
  return std::string(digest.substr(0, colon + 1 + 12));
}

progress_mode choose_progress_mode(bool progress_option, bool no_progress_option, bool verbose) {
  if (no_progress_option) return progress_mode::off;
  const char* term = std::getenv("TERM");
  const bool dumb = term && std::string_view(term) == "dumb";
  if (::isatty(STDERR_FILENO) && !dumb && !verbose) return progress_mode::terminal;
  return progress_option ? progress_mode::lines : progress_mode::off;
}

struct progress::state {
  struct blob {
    std::string label;
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    std::uint64_t order = 0;  // display order: first seen first
    std::function<std::uint64_t()> poll;
  };

  progress_mode mode;
  std::string verb;
  std::string noun;

  std::mutex m;
  std::condition_variable cv;
  std::thread drawer;
  bool started = false;
  bool stopping = false;
  bool stopped = false;

  clock::time_point t0 = clock::now();
  std::map<std::string, blob> active;
  std::uint64_t next_order = 0;
  std::uint64_t ended_bytes = 0;  // transferred by blobs already ended
  std::uint64_t transferred = 0, skipped = 0, mounted = 0;
  std::uint64_t expected = 0;

  std::size_t drawn_lines = 0;                                      // terminal: lines on screen
  std::deque<std::pair<clock::time_point, std::uint64_t>> samples;  // for the rate
  clock::time_point last_line{};                                    // lines: last overall line
  std::uint64_t last_line_bytes = 0;

  std::uint64_t bytes_now() const {
    auto sum = ended_bytes;
    for (const auto& [id, b] : active) sum += std::min(b.done, b.total ? b.total : b.done);
    return sum;
  }

  // Bytes a second over the last second or so (since the start before that).
  double rate(clock::time_point now, std::uint64_t bytes) {
    samples.emplace_back(now, bytes);
    while (samples.size() > 2 && now - samples[1].first >= 1s) samples.pop_front();
    const std::chrono::duration<double> window = now - samples.front().first;
    if (window >= 300ms)
      return static_cast<double>(bytes - samples.front().second) / window.count();
    const std::chrono::duration<double> all = now - t0;
    return all.count() > 0 ? static_cast<double>(bytes) / all.count() : 0.0;
  }

  void poll_watched() {
    for (auto& [id, b] : active)
      if (b.poll) b.done = std::min(b.poll(), b.total);
  }

  // "1 file", "3 files".
  std::string counted(std::uint64_t n) const {
    return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
  }

  std::string counts_tail() const {
    std::string out;
    if (skipped) out += ", " + std::to_string(skipped) + " skipped";
    if (mounted) out += ", " + std::to_string(mounted) + " mounted";
    return out;
  }

  std::string overall(clock::time_point now) {
    const auto bytes = bytes_now();
    std::string line = verb + " " + counted(transferred) + ", " + human_bytes(bytes);
    if (expected) line += " of " + human_bytes(expected);
    line += ", " + rate_text(rate(now, bytes)) + counts_tail();
    if (!active.empty()) line += ", " + std::to_string(active.size()) + " in flight";
    return line;
  }

  static std::string blob_line(const blob& b) {
    std::string line = "  " + b.label + "  " + human_bytes(b.done);
    if (b.total) line += " / " + human_bytes(b.total) + "  " + percent(b.done, b.total);
    return line;
  }

  // Terminal: moves to the first line drawn and clears from there down.
  std::string erase() {
    std::string out;
    if (drawn_lines > 0) out += "\r\x1b[" + std::to_string(drawn_lines) + "A";
    out += "\r\x1b[J";
    drawn_lines = 0;
    return out;
  }

  void draw_terminal(std::string prefix = {}) {
    const auto now = clock::now();
    poll_watched();
    std::vector<const blob*> shown;
    for (const auto& [id, b] : active) shown.push_back(&b);
    std::sort(shown.begin(), shown.end(),
              [](const blob* a, const blob* b) { return a->order < b->order; });
    const auto width = terminal_width();
    std::string out = erase() + std::move(prefix);
    std::size_t lines = 0;
    for (std::size_t i = 0; i < shown.size() && i < max_blob_lines; ++i, ++lines)
      out += fit(blob_line(*shown[i]), width) + "\n";
    if (shown.size() > max_blob_lines) {
      out +=
          fit("  … and " + std::to_string(shown.size() - max_blob_lines) + " more", width) + "\n";
      ++lines;
    }
    out += fit(overall(now), width) + "\n";
    ++lines;
    drawn_lines = lines;
    write_stderr(out);
  }

  void draw_lines() {
    const auto now = clock::now();
    poll_watched();
    const auto bytes = bytes_now();
    if (active.empty() || now - last_line < line_interval || bytes == last_line_bytes) {
      rate(now, bytes);  // keep the samples going
      return;
    }
    last_line = now;
    last_line_bytes = bytes;
    write_stderr(overall(now) + "\n");
  }

  void run() {
    std::unique_lock lock(m);
    while (!stopping) {
      cv.wait_for(lock, redraw_interval, [this] { return stopping; });
      if (stopping) break;
      if (mode == progress_mode::terminal)
        draw_terminal();
      else
        draw_lines();
    }
  }

  std::string summary() const {
    const std::chrono::duration<double> took = clock::now() - t0;
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.2f s", took.count());
    return verb + " " + counted(transferred) + ", " + human_bytes(ended_bytes) + " in " + secs +
           " (" +
           rate_text(took.count() > 0 ? static_cast<double>(ended_bytes) / took.count() : 0.0) +
           ")" + counts_tail() + "\n";
  }
};

progress::progress(progress_mode mode, std::string verb, std::string noun)
    : state_(std::make_shared<state>()) {
  state_->mode = mode;
  state_->verb = std::move(verb);
  state_->noun = std::move(noun);
}

progress::~progress() { stop(true); }

progress_mode progress::mode() const noexcept { return state_->mode; }

void progress::start() {
  std::lock_guard lock(state_->m);
  if (state_->started || state_->mode == progress_mode::off) return;
  state_->started = true;
  state_->t0 = clock::now();
  state_->last_line = state_->t0;
  state_->drawer = std::thread([s = state_] { s->run(); });
}

void progress::expect(std::uint64_t total_bytes) {
  std::lock_guard lock(state_->m);
  state_->expected = total_bytes;
}

void progress::update(const std::string& id, std::string_view label, std::uint64_t done,
                      std::uint64_t total) {
  auto& s = *state_;
  if (s.mode == progress_mode::off) return;
  std::lock_guard lock(s.m);
  auto [it, fresh] = s.active.try_emplace(id);
  if (fresh) {
    it->second.label = std::string(label);
    it->second.order = s.next_order++;
  }
  it->second.done = done;
  it->second.total = total;
}

void progress::watch(const std::string& id, std::string_view label, std::uint64_t total,
                     std::function<std::uint64_t()> poll) {
  auto& s = *state_;
  if (s.mode == progress_mode::off) return;
  std::lock_guard lock(s.m);
  auto& b = s.active[id];
  b.label = one_line(label);  // a title or a name from a manifest
  b.order = s.next_order++;
  b.total = total;
  b.poll = std::move(poll);
}

void progress::end(const std::string& id, std::string_view label, std::string_view how,
                   std::uint64_t size) {
  auto& s = *state_;
  std::lock_guard lock(s.m);
  s.active.erase(id);
  if (how == "skipped") {
    ++s.skipped;
  } else if (how == "mounted") {
    ++s.mounted;
  } else {
    ++s.transferred;
    s.ended_bytes += size;
  }
  if (s.mode == progress_mode::lines)
    write_stderr(std::string(how) + " " + one_line(label) + " (" + human_bytes(size) + ")\n");
}

void progress::note(std::string_view raw) {
  // Notes quote manifests (media types, warnings from a copy): escaped here,
  // once for every caller.
  const auto text = one_line(raw);
  auto& s = *state_;
  std::lock_guard lock(s.m);
  if (s.mode == progress_mode::terminal && s.started && !s.stopped) {
    // Above the display, which is drawn again below it.
    s.draw_terminal(text + "\n");
    return;
  }
  write_stderr(text + "\n");
}

void progress::stop(bool quiet) {
  auto& s = *state_;
  {
    std::lock_guard lock(s.m);
    if (!s.started || s.stopped) return;
    s.stopping = true;
  }
  s.cv.notify_all();
  if (s.drawer.joinable()) s.drawer.join();
  std::lock_guard lock(s.m);
  s.stopped = true;
  std::string out;
  if (s.mode == progress_mode::terminal) out = s.erase();
  if (!quiet) out += s.summary();
  write_stderr(out);
}

}  // namespace coras::cli
