#pragma once
// Small helpers shared by the proxy's handlers (src/proxy/) and the admin HTTP handlers
// (src/admin/http/): header access, deadlines, awaiting the store from a worker, query strings.
// Internal to the I/O shell.

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>

#include <nlohmann/json.hpp>

#include "tollgate/core/url.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/proxy/handlers.hpp"
#include "tollgate/routing/snapshot.hpp"
#include "tollgate/server/worker.hpp"
#include "tollgate/upstream/upstream_client.hpp"

namespace tg::proxy {

namespace net = boost::asio;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
inline constexpr auto kTuple = net::as_tuple(net::use_awaitable);

inline constexpr size_t kMaxUpstreamBody = 64ull << 20;     // a non-streamed answer
inline constexpr size_t kMaxUpstreamErrorBody = 1ull << 20;  // an error answer

inline double ms_since(Clock::time_point t, Clock::time_point now = Clock::now()) {
  return std::chrono::duration<double, std::milli>(now - t).count();
}

inline Clock::time_point min_tp(Clock::time_point a, Clock::time_point b) { return a < b ? a : b; }

// Token counts from client numbers (max_tokens x n): never wrap.
inline int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

inline int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

inline std::string_view header(const Request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return {};
  return std::string_view(it->value().data(), it->value().size());
}

// The key a client presented: "Authorization: Bearer <key>" or "x-api-key: <key>".
inline std::string_view presented_key(const Request& req) {
  std::string_view auth = header(req, "authorization");
  if (auth.size() > 7 && boost::beast::iequals(auth.substr(0, 7), "Bearer ")) {
    auth.remove_prefix(7);
    while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
    return auth;
  }
  return header(req, "x-api-key");
}

// What an adapter and the upstream client need to know about a provider.
inline providers::BuildContext build_context(const routing::ProviderRuntime& p, std::string_view api_key) {
  return providers::BuildContext{p.config, api_key, p.base.host, p.base.path,
                                 std::chrono::system_clock::now()};
}

inline upstream::Target target_of(const routing::ProviderRuntime& p) {
  return upstream::Target{&p.base, {p.config.tls_verify, p.config.ca_file}, p.config.name,
                          p.timeouts.keepalive};
}

// Who may read a stored response: the team of the key that made it, else that key.
inline std::string response_scope(const RequestContext& ctx) {
  if (!ctx.key) return "master";
  return ctx.key->team.empty() ? "key:" + ctx.key->id : "team:" + ctx.key->team;
}

inline std::string query_str(std::string_view query, std::string_view name) {
  return query_param(query, name).value_or("");
}

inline std::optional<int64_t> query_int(std::string_view query, std::string_view name) {
  std::string v = query_str(query, name);
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (end && *end == '\0') return n;
  return std::nullopt;
}

// A time parameter: unix seconds, unix ms, or YYYY-MM-DD (UTC).
inline std::optional<int64_t> query_time_ms(std::string_view query, std::string_view name) {
  std::string v = query_str(query, name);
  if (v.empty()) return std::nullopt;
  if (v.size() == 10 && v[4] == '-' && v[7] == '-') {
    std::tm tm{};
    tm.tm_year = std::atoi(v.substr(0, 4).c_str()) - 1900;
    tm.tm_mon = std::atoi(v.substr(5, 2).c_str()) - 1;
    tm.tm_mday = std::atoi(v.substr(8, 2).c_str());
    return static_cast<int64_t>(timegm(&tm)) * 1000;
  }
  auto n = query_int(query, name);
  if (!n) return std::nullopt;
  return *n < 100'000'000'000LL ? *n * 1000 : *n;  // seconds or milliseconds
}

// Runs a store query (its callback fires on a store thread) and resumes on the worker.
// Not a coroutine itself: async_initiate stores `start` in the returned awaitable (a by-value
// std::function parameter of a coroutine was destroyed twice by GCC 12).
using StoreStart = std::function<void(std::function<void(json)>)>;
inline auto await_store(net::io_context& ioc, StoreStart start) {
  return net::async_initiate<decltype(net::use_awaitable), void(json)>(
      [&ioc](auto handler, StoreStart start_query) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto work = std::make_shared<decltype(net::make_work_guard(ioc))>(net::make_work_guard(ioc));
        start_query([h, work, &ioc](json result) {
          net::post(ioc, [h, work, r = std::move(result)]() mutable { std::move(*h)(std::move(r)); });
        });
      },
      net::use_awaitable, std::move(start));
}

// Waits until the store has written what an admin call changed (so a key shown once is never
// lost to a crash), then answers.
using StoreDone = std::function<void(std::function<void(bool)>)>;
inline auto await_write(net::io_context& ioc, StoreDone start) {
  return net::async_initiate<decltype(net::use_awaitable), void(bool)>(
      [&ioc](auto handler, StoreDone start_write) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto work = std::make_shared<decltype(net::make_work_guard(ioc))>(net::make_work_guard(ioc));
        start_write([h, work, &ioc](bool ok) {
          net::post(ioc, [h, work, ok]() mutable { std::move(*h)(ok); });
        });
      },
      net::use_awaitable, std::move(start));
}

}  // namespace tg::proxy
