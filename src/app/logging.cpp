#include "tollgate/app/logging.hpp"

#include <mutex>

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

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

std::unique_ptr<spdlog::formatter> make_formatter(bool json, bool access) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (json && access) {
    f->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"access",%v})");
  } else if (json) {
    f->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","msg":"%*"})");
  } else if (access) {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ access %v");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v");
  }
  return f;
}

std::mutex g_mu;
std::shared_ptr<spdlog::async_logger> g_main, g_access;

}  // namespace

void setup_logging(std::string_view format, std::string_view level) {
  std::lock_guard lock(g_mu);
  bool json = format == "json";
  if (!g_main) {
    // One writer thread; when the queue is full, callers wait rather than drop a line.
    spdlog::init_thread_pool(16384, 1);
    // A sink per logger (each has its own format); stdout sinks share one console mutex.
    g_main = std::make_shared<spdlog::async_logger>(
        "tollgate", std::make_shared<spdlog::sinks::stdout_sink_mt>(), spdlog::thread_pool(),
        spdlog::async_overflow_policy::block);
    g_access = std::make_shared<spdlog::async_logger>(
        "access", std::make_shared<spdlog::sinks::stdout_sink_mt>(), spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    spdlog::set_default_logger(g_main);
    spdlog::flush_every(std::chrono::seconds(1));
  }
  g_main->set_formatter(make_formatter(json, false));
  g_access->set_formatter(make_formatter(json, true));
  auto lvl = spdlog::level::from_str(std::string(level));
  g_main->set_level(lvl);
  g_access->set_level(spdlog::level::info);
  g_main->flush_on(spdlog::level::warn);
}

spdlog::logger& access_logger() { return *g_access; }

void flush_logs() {
  if (g_main) g_main->flush();
  if (g_access) g_access->flush();
}

}  // namespace tg::app
