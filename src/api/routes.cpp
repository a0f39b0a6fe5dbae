#include "tollgate/api/routes.hpp"

#include <array>

namespace tg::api {

namespace {

using providers::Endpoint;

constexpr Route kHealth{RouteId::Health, kGet | kHead, Access::Open};
constexpr Route kReady{RouteId::Ready, kGet | kHead, Access::Open};
constexpr Route kMetrics{RouteId::Metrics, kGet | kHead, Access::Metrics, false, true};
constexpr Route kChat{RouteId::ChatCompletions, kPost, Access::Key, true, false, Dialect::OpenAI,
                      Endpoint::ChatCompletions};
constexpr Route kCompletions{RouteId::Completions, kPost, Access::Key, true, false,
                             Dialect::OpenAI, Endpoint::Completions};
constexpr Route kEmbeddings{RouteId::Embeddings, kPost, Access::Key, true, false, Dialect::OpenAI,
                            Endpoint::Embeddings};
constexpr Route kMessages{RouteId::Messages, kPost, Access::Key, true, false, Dialect::Anthropic};
constexpr Route kCountTokens{RouteId::CountTokens, kPost, Access::Key, true, false,
                             Dialect::Anthropic};
constexpr Route kResponses{RouteId::Responses, kPost, Access::Key, true, false,
                           Dialect::Responses};
constexpr Route kResponseById{RouteId::ResponseById, kGet | kHead | kDelete, Access::Key, false,
                              false, Dialect::OpenAI};
constexpr Route kResponseItems{RouteId::ResponseInputItems, kGet | kHead, Access::Key, false,
                               false, Dialect::OpenAI};
constexpr Route kModels{RouteId::Models, kGet | kHead, Access::Key, false, false,
                        Dialect::OpenAI};
constexpr Route media(Endpoint e, bool upload = false) {
  return Route{RouteId::Media, kPost, Access::Key, true, false, Dialect::Media, e, upload};
}
constexpr Route kTranscriptions = media(Endpoint::AudioTranscriptions, true);
constexpr Route kTranslations = media(Endpoint::AudioTranslations, true);
constexpr Route kSpeech = media(Endpoint::AudioSpeech);
constexpr Route kImages = media(Endpoint::ImagesGenerations);
constexpr Route kImageEdits = media(Endpoint::ImagesEdits, true);
constexpr Route kImageVariations = media(Endpoint::ImagesVariations, true);
constexpr Route kModerations = media(Endpoint::Moderations);
constexpr Route kRerank = media(Endpoint::Rerank);
constexpr Route kReload{RouteId::AdminReload, kPost, Access::Master, false, true};
constexpr Route kLogs{RouteId::AdminLogs, kGet | kHead, Access::Master, false, true};
constexpr Route kSpend{RouteId::AdminSpend, kGet | kHead, Access::Master, false, true};
constexpr Route kGovernance{RouteId::AdminGovernance, kGet | kHead | kPost | kPatch | kDelete,
                            Access::Master, false, true};

constexpr Route kStats{RouteId::AdminStats, kGet | kHead, Access::Master, false, true};
constexpr Route kLogById{RouteId::AdminLogById, kGet | kHead, Access::Master, false, true};
constexpr Route kProviders{RouteId::AdminProviders, kGet | kHead, Access::Master, false, true};
constexpr Route kConfig{RouteId::AdminConfig, kGet | kHead, Access::Master, false, true};
constexpr Route kUiFile{RouteId::UiFile, kGet | kHead, Access::Ui, false, true};
constexpr Route kUiSession{RouteId::UiSession, kGet | kHead | kPost | kDelete, Access::Ui, false,
                           true};
// The playground's chat on the admin port (server.admin_listen), where the session cookie lives.
constexpr Route kUiChat{RouteId::ChatCompletions, kPost, Access::Key, true, true,
                        Dialect::OpenAI, Endpoint::ChatCompletions};

struct Exact {
  std::string_view path;
  const Route* route;
};

constexpr std::array kExact{
    Exact{"/health", &kHealth},          Exact{"/healthz", &kHealth},
    Exact{"/ready", &kReady},            Exact{"/readyz", &kReady},
    Exact{"/metrics", &kMetrics},        Exact{"/chat/completions", &kChat},
    Exact{"/completions", &kCompletions}, Exact{"/embeddings", &kEmbeddings},
    Exact{"/messages", &kMessages},      Exact{"/messages/count_tokens", &kCountTokens},
    Exact{"/responses", &kResponses},    Exact{"/models", &kModels},
    Exact{"/admin/reload", &kReload},    Exact{"/admin/logs", &kLogs},
    Exact{"/admin/spend", &kSpend},
#ifndef TG_NO_UI  // (a build without the web UI, for measuring its size: CMakeLists.txt)
    Exact{"/admin/stats", &kStats},
    Exact{"/admin/providers", &kProviders}, Exact{"/admin/config", &kConfig},
    Exact{"/ui", &kUiFile},              Exact{"/ui/api/session", &kUiSession},
    Exact{"/ui/api/chat/completions", &kUiChat},
#endif
    Exact{"/audio/transcriptions", &kTranscriptions},
    Exact{"/audio/translations", &kTranslations},
    Exact{"/audio/speech", &kSpeech},
    Exact{"/images/generations", &kImages},
    Exact{"/images/edits", &kImageEdits},
    Exact{"/images/variations", &kImageVariations},
    Exact{"/moderations", &kModerations},
    Exact{"/rerank", &kRerank},
    Exact{"/v2/rerank", &kRerank},
};

// One path segment: non-empty, no further '/'.
bool segment(std::string_view s) { return !s.empty() && s.find('/') == std::string_view::npos; }

}  // namespace

std::optional<Match> match(std::string_view path) {
  for (const auto& e : kExact) {
    if (e.path == path) return Match{e.route, {}};
  }
  if (path.starts_with("/admin/keys") || path.starts_with("/admin/teams")) {
    std::string_view rest = path.substr(path.starts_with("/admin/keys") ? 11 : 12);
    if (rest.empty() || rest.front() == '/') return Match{&kGovernance, {}};
    return std::nullopt;
  }
#ifndef TG_NO_UI
  if (path.starts_with("/admin/logs/") && segment(path.substr(12))) {
    return Match{&kLogById, path.substr(12)};
  }
  // Every other /ui/ path is the file handler's (an unknown one is its 404, with the UI's
  // security headers).
  if (path.starts_with("/ui/")) return Match{&kUiFile, {}};
#endif
  if (path.starts_with("/models/")) {
    std::string_view id = path.substr(8);
    // Model ids may hold '/' (provider/model).
    if (!id.empty()) return Match{&kModels, id};
    return std::nullopt;
  }
  if (path.starts_with("/responses/")) {
    std::string_view rest = path.substr(11);
    constexpr std::string_view kItems = "/input_items";
    if (rest.ends_with(kItems) && segment(rest.substr(0, rest.size() - kItems.size()))) {
      return Match{&kResponseItems, rest.substr(0, rest.size() - kItems.size())};
    }
    if (segment(rest)) return Match{&kResponseById, rest};
  }
  return std::nullopt;
}

bool takes_upload(std::string_view path) {
  auto m = match(path);
  return m && m->route->upload;
}

bool allows(const Route& r, std::string_view method) {
  uint8_t bit = method == "GET"      ? kGet
                : method == "HEAD"   ? kHead
                : method == "POST"   ? kPost
                : method == "PATCH"  ? kPatch
                : method == "DELETE" ? kDelete
                                     : 0;
  return (r.methods & bit) != 0;
}

}  // namespace tg::api
