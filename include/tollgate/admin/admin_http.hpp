#pragma once
// The admin API's HTTP handlers (src/admin/http/admin_http.cpp). Master key only.

#include <boost/asio/awaitable.hpp>

#include "tollgate/proxy/handlers.hpp"

namespace tg::admin {

// POST/GET/PATCH/DELETE /admin/keys..., /admin/teams...: written to the store, then applied.
boost::asio::awaitable<void> admin_keys_handler(proxy::RequestContext& ctx);
// GET /admin/logs, /admin/spend.
boost::asio::awaitable<void> admin_query_handler(proxy::RequestContext& ctx);
// POST /admin/reload.
boost::asio::awaitable<void> reload_handler(proxy::RequestContext& ctx);

}  // namespace tg::admin
