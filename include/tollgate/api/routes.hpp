#pragma once
// Every path Tollgate answers, as one table: which methods, which credentials, whether it is an
// LLM call (counted, logged and in flight), and on which port. Pure: the HTTP shell looks a
// request up here, then runs the handler for its RouteId.

#include <cstdint>
#include <optional>
#include <string_view>

#include "tollgate/providers/adapter.hpp"

namespace tg::api {

enum class RouteId {
  Health,
  Ready,
  Metrics,
  ChatCompletions,
  Completions,
  Embeddings,
  Messages,
  CountTokens,
  Responses,          // POST /responses
  ResponseById,       // GET, DELETE /responses/{id}
  ResponseInputItems, // GET /responses/{id}/input_items
  Models,             // GET /models, /models/{id}
  Media,              // audio, images, moderations, rerank (src/media/)
  AdminReload,
  AdminLogs,
  AdminSpend,
  AdminGovernance,    // /admin/keys..., /admin/teams...
  AdminStats,         // GET /admin/stats
  AdminLogById,       // GET /admin/logs/{id}
  AdminProviders,     // GET /admin/providers
  AdminConfig,        // GET /admin/config
  UiFile,             // GET /ui, /ui/assets/{hash}/{file}: the embedded web app
  UiSession,          // /ui/api/session: sign-in, the session's CSRF token, sign-out
};

enum class Access {
  Open,     // no key (health checks)
  Metrics,  // server.metrics_key when set
  Key,      // the master key or a virtual key
  Master,   // the master key only
  Ui,       // the web UI's own pages and sign-in: no key, but only when a master key is set
};

// Method bits.
enum Method : uint8_t { kGet = 1, kHead = 2, kPost = 4, kPatch = 8, kDelete = 16 };

enum class Dialect { None, OpenAI, Anthropic, Responses, Media };

struct Route {
  RouteId id;
  uint8_t methods;
  Access access;
  bool llm = false;          // an LLM call: counted, logged, in flight, rate limited
  bool admin_port = false;   // lives on server.admin_listen when that is set
  Dialect dialect = Dialect::None;  // the shape of the body and of its errors
  providers::Endpoint endpoint = providers::Endpoint::ChatCompletions;
  bool upload = false;  // multipart uploads: server.max_upload_body instead of max_request_body
};

struct Match {
  const Route* route = nullptr;
  std::string_view id;  // the {id} segment of /responses/{id}, /models/{id}, /admin/logs/{id}
};

// The route of a normalised path (no /v1 prefix, no query), if any. Methods are not checked here:
// a known path with the wrong method is a 405, an unknown one a 404.
std::optional<Match> match(std::string_view path);

bool allows(const Route& r, std::string_view method);

// Whether a normalised path takes uploads (its body limit is server.max_upload_body).
bool takes_upload(std::string_view path);

}  // namespace tg::api
