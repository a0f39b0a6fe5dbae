#include "tollgate/app/logging.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "tollgate/core/text.hpp"

namespace tg::app {
namespace {

// %* : the message payload escaped as a JSON string body.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            int n = std::snprintf(buf, sizeof buf, "\\u%04x", c);
            dest.append(buf, buf + n);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

// %* : the message payload with control characters escaped (tg::log_escape): one call, one
// line, whatever a client-chosen string in it holds. Call sites escape those strings too
// (log_safe), so this is the last defence, not the only one.
class TextEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (std::none_of(payload.begin(), payload.end(), [](char c) {
          return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        })) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    std::string escaped;
    log_escape_into(escaped, payload);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TextEscapedMessage>();
  }
};

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (json) {
    f->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%*"})");
  } else {
    f->add_flag<TextEscapedMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %*");
  }
  return f;
}

// "2026-12-05T14:42:45.123Z" (digits = 3) or with microseconds (digits = 6), UTC.
// The date and time are formatted once per second per thread (a line per request at thousands
// a second would otherwise pay gmtime_r and strftime each); the fraction is written by hand.
void append_timestamp(std::string& out, int digits) {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[32];
  thread_local size_t cached_len = 0;
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    cached_len = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  out.append(cached, cached_len);
  long frac = static_cast<long>(us % 1'000'000);
  if (digits == 3) frac /= 1000;
  char buf[8];
  buf[0] = '.';
  for (int i = digits; i >= 1; --i, frac /= 10) buf[i] = static_cast<char>('0' + frac % 10);
  buf[digits + 1] = 'Z';
  out.append(buf, static_cast<size_t>(digits) + 2);
}

// Per-thread access-log buffers and the thread that writes them out. An event loop thread only
// appends to its own buffer: no contention (the flusher takes it 10 times a second), no wake-up
// of another thread and no syscall per request.
class AccessLines {
 public:
  AccessLines() : flusher_([this] { run(); }) {}
  ~AccessLines() {
    {
      std::lock_guard lock(stop_mu_);
      stop_ = true;
    }
    stop_cv_.notify_one();
    flusher_.join();
    flush();
  }

  void append(std::string_view message, bool json) {
    thread_local Buffer* mine = nullptr;
    if (!mine) mine = register_thread();
    std::lock_guard lock(mine->mu);
    std::string& d = mine->data;
    if (json) {
      d += R"({"ts":")";
      append_timestamp(d, 6);
      d += R"(","level":"info","logger":"access",)";
      d += message;
      d += "}\n";
    } else {
      append_timestamp(d, 3);
      d += " access ";
      d += message;
      d += '\n';
    }
  }

  void flush() {
    std::lock_guard writing(write_mu_);
    {
      std::lock_guard lock(registry_mu_);
      for (auto& b : buffers_) {
        std::lock_guard bl(b->mu);
        batch_ += b->data;
        b->data.clear();
      }
    }
    if (batch_.empty()) return;
    // spdlog's console mutex: no line of the main logger lands inside the batch.
    std::lock_guard console(spdlog::details::console_mutex::mutex());
    std::fwrite(batch_.data(), 1, batch_.size(), stdout);
    std::fflush(stdout);
    batch_.clear();
  }

 private:
  struct Buffer {
    std::mutex mu;
    std::string data;
  };

  Buffer* register_thread() {
    std::lock_guard lock(registry_mu_);
    buffers_.push_back(std::make_unique<Buffer>());  // kept until exit: one per thread
    return buffers_.back().get();
  }

  void run() {
    std::unique_lock lock(stop_mu_);
    while (!stop_) {
      stop_cv_.wait_for(lock, std::chrono::milliseconds(100));
      lock.unlock();
      flush();
      lock.lock();
    }
  }

  std::mutex registry_mu_, write_mu_, stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::string batch_;  // under write_mu_
  std::vector<std::unique_ptr<Buffer>> buffers_;
  std::thread flusher_;
};

AccessLines& access_lines() {
  static AccessLines lines;
  return lines;
}

std::mutex g_mu;
std::shared_ptr<spdlog::async_logger> g_main;
std::atomic<bool> g_json{false};

}  // namespace

void setup_logging(std::string_view format, std::string_view level) {
  std::lock_guard lock(g_mu);
  bool json = format == "json";
  if (!g_main) {
    // One writer thread; when the queue is full, callers wait rather than drop a line. spdlog
    // builds every slot up front (408 bytes each): 16384 slots were 6.5 MB of memory, touched at
    // start, for a logger that writes a few lines a second (access lines have their own buffer).
    spdlog::init_thread_pool(1024, 1);
    // A sink per logger (each has its own format); stdout sinks share one console mutex.
    g_main = std::make_shared<spdlog::async_logger>(
        "tollgate", std::make_shared<spdlog::sinks::stdout_sink_mt>(), spdlog::thread_pool(),
        spdlog::async_overflow_policy::block);
    spdlog::set_default_logger(g_main);
    spdlog::flush_every(std::chrono::seconds(1));
  }
  g_main->set_formatter(make_formatter(json));
  g_json = json;
  access_lines();  // its flusher starts now, not on the first request
  auto lvl = spdlog::level::from_str(std::string(level));
  g_main->set_level(lvl);
  g_main->flush_on(spdlog::level::warn);
}

void access_log(std::string_view message) { access_lines().append(message, g_json); }

void flush_logs() {
  access_lines().flush();
  if (g_main) g_main->flush();
}

}  // namespace tg::app
