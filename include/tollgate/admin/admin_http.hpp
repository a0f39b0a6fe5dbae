#pragma once
// The admin API's and the web UI's HTTP handlers (src/admin/http/). Master key (or a UI session)
// only; dispatch checks that.

#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "tollgate/core/error.hpp"
#include "tollgate/proxy/handlers.hpp"

namespace tg::admin {

// POST/GET/PATCH/DELETE /admin/keys..., /admin/teams...: written to the store, then applied.
boost::asio::awaitable<void> admin_keys_handler(proxy::RequestContext& ctx);
// GET /admin/logs, /admin/spend.
boost::asio::awaitable<void> admin_query_handler(proxy::RequestContext& ctx);
// POST /admin/reload.
boost::asio::awaitable<void> reload_handler(proxy::RequestContext& ctx);

// GET /admin/config's body: the running config (secrets redacted), its source, the last reload.
// (Nothing to wait for: dispatch sends it.)
std::string config_body(const proxy::RequestContext& ctx);
// GET /admin/stats, /admin/logs/{id}, /admin/providers (src/admin/http/admin_data.cpp).
boost::asio::awaitable<void> stats_handler(proxy::RequestContext& ctx);
boost::asio::awaitable<void> log_row_handler(proxy::RequestContext& ctx, std::string_view id);
boost::asio::awaitable<void> providers_handler(proxy::RequestContext& ctx);

// An answer made without waiting for anything: the handler below fills it in (and adds its
// headers), send_reply sends it. One coroutine for them all instead of a frame each.
struct Reply {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string body{};
  std::string_view static_body{};  // instead of body: bytes that outlive the request (embedded files)
  std::optional<Error> error{};    // sent with send_error instead
};
boost::asio::awaitable<void> send_reply(proxy::RequestContext& ctx, Reply r);

// GET /ui, /ui/assets/{hash}/{file} (src/admin/http/ui_http.cpp).
Reply ui_file(proxy::RequestContext& ctx);
// POST (sign in), GET (the live session's CSRF token), DELETE (sign out) /ui/api/session.
Reply ui_session(proxy::RequestContext& ctx);

// A request with no key header but the UI's session cookie: Master when the session is live (and,
// for a method that changes state, x-tollgate-csrf matches it), CsrfFailed when the session is
// live but that header is missing or wrong, None otherwise. With server.admin_listen the cookie
// counts on the admin port only (browsers send cookies to every port of a host).
enum class SessionAuth { None, Master, CsrfFailed };
SessionAuth session_auth(proxy::RequestContext& ctx);
// 403 permission_error / csrf_failed.
Error csrf_failed();

}  // namespace tg::admin
