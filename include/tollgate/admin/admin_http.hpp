#pragma once
// The admin API's and the web UI's HTTP handlers (src/admin/http/). Master key (or a UI session)
// only; dispatch checks that.

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

// GET /ui, /ui/assets/{hash}/{file} (src/admin/http/ui_http.cpp).
boost::asio::awaitable<void> ui_file_handler(proxy::RequestContext& ctx);
// POST (sign in), GET (the live session's CSRF token), DELETE (sign out) /ui/api/session.
boost::asio::awaitable<void> ui_session_handler(proxy::RequestContext& ctx);

// A request with no key header but the UI's session cookie: Master when the session is live (and,
// for a method that changes state, x-tollgate-csrf matches it), CsrfFailed when the session is
// live but that header is missing or wrong, None otherwise. With server.admin_listen the cookie
// counts on the admin port only (browsers send cookies to every port of a host).
enum class SessionAuth { None, Master, CsrfFailed };
SessionAuth session_auth(proxy::RequestContext& ctx);
// 403 permission_error / csrf_failed.
Error csrf_failed();

}  // namespace tg::admin
