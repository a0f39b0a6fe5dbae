// The admin web UI's HTTP side: the embedded files (src/admin/ui_assets.cpp decides what a path
// names), sign-in sessions (src/admin/ui_sessions.cpp keeps them) and the cookie-or-key rule that
// dispatch's authenticate() asks session_auth() about.

#include <boost/beast/http.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../../proxy/proxy_util.hpp"
#include "tollgate/admin/admin_http.hpp"
#include "tollgate/admin/ui_assets.hpp"
#include "tollgate/admin/ui_sessions.hpp"
#include "tollgate/core/json_writer.hpp"
#include "tollgate/core/secure.hpp"
#include "tollgate/providers/client_json.hpp"
#include "tollgate/server/worker.hpp"

namespace tg::admin {

namespace net = boost::asio;
namespace http = boost::beast::http;
using json = nlohmann::json;
using proxy::header;
using proxy::RequestContext;

namespace {

constexpr std::string_view kCookie = "tg_session";
constexpr std::string_view kCsrfHeader = "x-tollgate-csrf";

void add_security_headers(RequestContext& ctx) {
  for (const auto& h : ui::security_headers()) {
    ctx.out.add_header(h.name, h.value);
  }
}

std::string_view session_token(const proxy::Request& req) {
  return cookie_value(header(req, "cookie"), kCookie);
}

// Behind a TLS-terminating proxy the cookie must be Secure: always with server.secure_cookie,
// else when the proxy says so. Trusting the header from anyone costs nothing: a client that fakes
// it only gets a cookie its browser will not send back over plain HTTP.
bool secure_cookie(const RequestContext& ctx) {
  return ctx.snapshot->config.server.secure_cookie ||
         boost::beast::iequals(header(ctx.request, "x-forwarded-proto"), "https");
}

std::string set_cookie(const RequestContext& ctx, std::string_view value, int64_t max_age_s) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kCookie, value,
                     max_age_s, secure_cookie(ctx) ? "; Secure" : "");
}

// What a session is bound to: the master key it was opened with (hashed). A reload that changes
// the master key thereby signs every session out.
std::string master_binding(const RequestContext& ctx) {
  return sha256_hex("tg-ui-session:" + ctx.snapshot->config.server.master_key);
}

// The live session of this request's cookie, if it is still bound to the current master key.
std::optional<UiSessions::View> live_session(RequestContext& ctx) {
  auto s = ctx.worker.shared().ui_sessions.find(session_token(ctx.request));
  if (!s || !constant_time_equals(s->bound_to, master_binding(ctx))) return std::nullopt;
  return s;
}

std::string client_ip(RequestContext& ctx) {
  boost::system::error_code ec;
  auto ep = ctx.stream.socket().remote_endpoint(ec);
  return ec ? std::string("unknown") : ep.address().to_string();
}

bool state_changing(http::verb v) {
  return v != http::verb::get && v != http::verb::head;
}

// {"csrf":...,"expires_at":...}
std::string session_json(std::string_view csrf, int64_t expires_at_ms) {
  JsonWriter w;
  return w.object().str("csrf", csrf).num("expires_at", expires_at_ms).end_object().take();
}

Error session_missing() {
  return Error::unauthorized("Not signed in (no live session): sign in with the master key.");
}

}  // namespace

Error csrf_failed() {
  Error e = Error::unauthorized(
      "A state-changing call with a session cookie needs the header 'x-tollgate-csrf' with the "
      "session's token (GET /ui/api/session returns it).");
  e.code = ErrorCode::Forbidden;
  e.status = 403;
  e.type = "permission_error";
  e.code_str = "csrf_failed";
  return e;
}

SessionAuth session_auth(RequestContext& ctx) {
  auto& shared = ctx.worker.shared();
  if (shared.admin_split.load(std::memory_order_relaxed) && !ctx.admin_port) {
    return SessionAuth::None;
  }
  if (session_token(ctx.request).empty()) return SessionAuth::None;
  auto s = live_session(ctx);
  if (!s) return SessionAuth::None;
  if (state_changing(ctx.request.method()) &&
      !constant_time_equals(header(ctx.request, kCsrfHeader), s->csrf)) {
    return SessionAuth::CsrfFailed;
  }
  return SessionAuth::Master;
}

net::awaitable<void> send_reply(RequestContext& ctx, Reply r) {
  if (r.error) {
    co_await ctx.out.send_error(*r.error);
  } else {
    co_await ctx.out.send(r.status, r.content_type,
                          r.static_body.empty() ? std::string_view(r.body) : r.static_body);
  }
}

Reply ui_file(RequestContext& ctx) {
  add_security_headers(ctx);
  auto found = ui::find(ui::embedded(), ctx.path);
  if (!found) return Reply{.error = Error::not_found(ctx.path)};
  const ui::File& f = *found->file;
  const bool gzip = !f.gzip.empty() && ui::accepts_gzip(header(ctx.request, "accept-encoding"));
  // Each encoding its own strong ETag (RFC 9110 8.8.3); either one revalidates.
  const std::string gz_etag = std::string(f.etag.substr(0, f.etag.size() - 1)) + "-gz\"";
  ctx.out.add_header("ETag", gzip ? gz_etag : std::string(f.etag));
  ctx.out.add_header("Cache-Control",
                     found->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  if (!f.gzip.empty()) ctx.out.add_header("Vary", "Accept-Encoding");
  const std::string_view inm = header(ctx.request, "if-none-match");
  if (!inm.empty() && (ui::etag_matches(inm, f.etag) || ui::etag_matches(inm, gz_etag))) {
    return Reply{.status = 304, .content_type = ""};
  }
  if (gzip) ctx.out.add_header("Content-Encoding", "gzip");
  return Reply{.content_type = ui::content_type(f.path), .static_body = gzip ? f.gzip : ui::plain(f)};
}

Reply ui_session(RequestContext& ctx) {
  auto& sessions = ctx.worker.shared().ui_sessions;
  add_security_headers(ctx);
  ctx.out.add_header("Cache-Control", "no-store");
  const auto method = ctx.request.method();
  if (method == http::verb::post) {
    const std::string ip = client_ip(ctx);
    if (auto wait = sessions.blocked(ip)) {
      Error e = Error::unauthorized(
          "Too many failed sign-ins from this address; try again later.");
      e.code = ErrorCode::RateLimited;
      e.status = 429;
      e.type = "rate_limit_error";
      e.code_str = "rate_limit_exceeded";
      e.retry_after = std::to_string(*wait);
      return Reply{.error = std::move(e)};
    }
    auto parsed = providers::parse_client_json(ctx.request.body());
    if (auto* e = std::get_if<Error>(&parsed)) return Reply{.error = std::move(*e)};
    const json& body = std::get<json>(parsed);
    auto k = body.is_object() ? body.find("key") : body.end();
    if (!body.is_object() || k == body.end() || !k->is_string()) {
      return Reply{.error = Error::bad_request("key: Field required (the master key)", "key")};
    }
    const std::string& master = ctx.snapshot->config.server.master_key;
    if (!constant_time_equals(k->get_ref<const std::string&>(), master)) {
      sessions.failed(ip);
      return Reply{.error = Error::unauthorized("Wrong master key.")};
    }
    sessions.succeeded(ip);
    auto s = sessions.create(master_binding(ctx));
    // Whole seconds left (the session was made a moment after the request started): 43200.
    const int64_t max_age = (s.expires_at_ms - ctx.start_unix_ms) / 1000;
    ctx.out.add_header("Set-Cookie", set_cookie(ctx, s.token, max_age));
    return Reply{.body = session_json(s.csrf, s.expires_at_ms)};
  }
  const std::string_view token = session_token(ctx.request);
  auto live = live_session(ctx);
  if (!live) return Reply{.error = session_missing()};
  if (method == http::verb::delete_) {
    if (!constant_time_equals(header(ctx.request, kCsrfHeader), live->csrf)) {
      return Reply{.error = csrf_failed()};
    }
    sessions.remove(token);
    ctx.out.add_header("Set-Cookie", set_cookie(ctx, "", 0));
    return Reply{.status = 204, .content_type = ""};
  }
  return Reply{.body = session_json(live->csrf, live->expires_at_ms)};
}

}  // namespace tg::admin
