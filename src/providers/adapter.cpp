#include "tollgate/providers/adapter.hpp"
#include "tollgate/providers/json_scan.hpp"

#include <algorithm>
#include <memory>

#include "tollgate/providers/json_build.hpp"

#include "anthropic/anthropic_adapter.hpp"
#include "azure/azure_adapter.hpp"
#include "bedrock/bedrock_adapter.hpp"
#include "gemini/gemini_adapter.hpp"
#include "openai/openai_adapter.hpp"

namespace tg::providers {

const nlohmann::json& ClientRequest::doc() const {
  if (!doc_) {
    // raw_body was validated when the request was parsed; the document is what the parser makes.
    built_ = std::make_shared<const nlohmann::json>(raw_body.empty() ? nlohmann::json::object()
                                                                     : json_scan::build(raw_body));
    doc_ = built_.get();
  }
  return *doc_;
}

std::string_view to_string(Endpoint e) {
  switch (e) {
    case Endpoint::ChatCompletions: return "chat.completions";
    case Endpoint::Completions: return "completions";
    case Endpoint::Embeddings: return "embeddings";
    case Endpoint::Responses: return "responses";
    case Endpoint::AudioTranscriptions: return "audio.transcriptions";
    case Endpoint::AudioTranslations: return "audio.translations";
    case Endpoint::AudioSpeech: return "audio.speech";
    case Endpoint::ImagesGenerations: return "images.generations";
    case Endpoint::ImagesEdits: return "images.edits";
    case Endpoint::ImagesVariations: return "images.variations";
    case Endpoint::Moderations: return "moderations";
    case Endpoint::Rerank: return "rerank";
  }
  return "?";
}

StreamStatus StreamTranslator::on_bytes(std::string_view bytes, std::string& out) {
  events_.clear();
  decoder_.feed(bytes, events_);
  for (const auto& ev : events_) {
    StreamStatus st = on_event(ev, out);
    if (st != StreamStatus::Continue) return st;
  }
  return StreamStatus::Continue;
}

Usage Usage::from_openai(const nlohmann::json& u) {
  Usage out;
  if (!u.is_object()) return out;
  auto num = [](const nlohmann::json& obj, const char* key) -> int64_t {
    auto it = obj.find(key);
    return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
  };
  out.present = true;
  out.input = num(u, "prompt_tokens");
  out.output = num(u, "completion_tokens");
  if (auto d = u.find("prompt_tokens_details"); d != u.end() && d->is_object()) {
    out.cached_read = num(*d, "cached_tokens");
    out.cache_write = num(*d, "cache_write_tokens");
  }
  if (auto d = u.find("completion_tokens_details"); d != u.end() && d->is_object()) {
    out.reasoning = num(*d, "reasoning_tokens");
  }
  // DeepSeek reports cache hits under its own name.
  if (out.cached_read == 0) out.cached_read = num(u, "prompt_cache_hit_tokens");
  return out;
}

Usage Usage::from_responses(const nlohmann::json& u) {
  Usage out;
  if (!u.is_object()) return out;
  auto num = [](const nlohmann::json& obj, const char* key) -> int64_t {
    auto it = obj.find(key);
    return it != obj.end() && it->is_number_integer() ? std::max<int64_t>(0, it->get<int64_t>()) : 0;
  };
  out.present = true;
  out.input = num(u, "input_tokens");
  out.output = num(u, "output_tokens");
  if (auto d = u.find("input_tokens_details"); d != u.end() && d->is_object()) {
    out.cached_read = num(*d, "cached_tokens");
    out.cache_write = num(*d, "cache_write_tokens");
  }
  if (auto d = u.find("output_tokens_details"); d != u.end() && d->is_object()) {
    out.reasoning = num(*d, "reasoning_tokens");
  }
  return out;
}

const ProviderAdapter* adapter_for(config::ProviderType type) {
  static const OpenAiAdapter openai;
  switch (type) {
    case config::ProviderType::OpenAI:
      return &openai;
    case config::ProviderType::OpenAICompatible: {
      static const OpenAiCompatibleAdapter compatible;  // the hosts' quirks (compat_quirks.hpp)
      return &compatible;
    }
    case config::ProviderType::Azure: {
      static const AzureAdapter azure;
      return &azure;
    }
    case config::ProviderType::Anthropic: {
      static const AnthropicAdapter anthropic;
      return &anthropic;
    }
    case config::ProviderType::Bedrock: {
      static const BedrockAdapter bedrock;
      return &bedrock;
    }
    case config::ProviderType::Gemini: {
      static const GeminiAdapter gemini;
      return &gemini;
    }
    default:
      return nullptr;  // anthropic, gemini, azure, bedrock: the provider-adapters issue
  }
}

namespace json_scan {

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

size_t skip_string(std::string_view s, size_t i) {
  for (++i; (i = plain_run_end(s, i)) < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c == '"') {
        i = skip_string(s, i) - 1;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return s.size();
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
         s[i] != '\n' && s[i] != '\r' && s[i] != '\t') {
    ++i;
  }
  return i;
}

size_t nesting_depth(std::string_view s, size_t limit) {
  size_t depth = 0, deepest = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') {
      i = skip_string(s, i) - 1;
    } else if (c == '{' || c == '[') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace json_scan

std::string_view find_top_level_member(std::string_view s, std::string_view key) {
  std::string_view found;
  json_scan::for_each_member(s, [&](std::string_view k, size_t begin, size_t end) {
    if (k != key) return true;
    found = s.substr(begin, end - begin);
    return false;
  });
  return found;
}

}  // namespace tg::providers
