// ${VAR} / ${VAR:-default} / $$ expansion, and the pre-parse protection of ${...} spans.

#include "internal.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace tg::config {
namespace {

bool valid_var_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// Index of the '}' closing the '{' at `open`, honouring nested ${...}; npos when unterminated.
size_t matching_brace(std::string_view text, size_t open) {
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    if (text[i] == '\n') return std::string_view::npos;
    if (text[i] == '{') ++depth;
    if (text[i] == '}' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

void note_unset(std::vector<std::string>* unset, std::string_view name) {
  if (unset && std::find(unset->begin(), unset->end(), name) == unset->end()) {
    unset->emplace_back(name);
  }
}

// Expands the inside of one ${...}: "VAR" or "VAR:-default".
void expand_ref(std::string_view inner, const EnvLookup& env, std::vector<std::string>* unset,
                std::string* error, std::string& out) {
  size_t sep = inner.find(":-");
  std::string_view name = inner.substr(0, sep);
  if (!valid_var_name(name)) {
    if (error && error->empty()) {
      *error = "invalid variable reference '${" + std::string(inner) +
               "}' (expected ${NAME} or ${NAME:-default})";
    }
    out += "${";
    out += inner;
    out += '}';
    return;
  }
  std::optional<std::string> value = env(name);
  if (value && !value->empty()) {
    out += *value;  // values are not expanded again
  } else if (sep != std::string_view::npos) {
    out += detail::expand_env_checked(inner.substr(sep + 2), env, unset, error);
  } else {
    note_unset(unset, name);  // empty counts as unset: compose passes "VAR=" for unset host vars
  }
}

// Private-use code points standing in for YAML flow characters inside ${...}.
constexpr std::string_view kFlowChars = "{}[],:#";
constexpr char kPuaLead0 = '\xEE', kPuaLead1 = '\x80';

}  // namespace

namespace detail {

std::string expand_env_checked(std::string_view text, const EnvLookup& env,
                               std::vector<std::string>* unset, std::string* error) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
    } else if (text[i + 1] == '$') {
      out += '$';
      ++i;
    } else if (text[i + 1] != '{') {
      out += '$';
    } else if (size_t close = matching_brace(text, i + 1); close == std::string_view::npos) {
      if (error && error->empty()) *error = "unterminated '${' (missing '}')";
      out += text.substr(i);
      break;
    } else {
      expand_ref(text.substr(i + 2, close - i - 2), env, unset, error, out);
      i = close;
    }
  }
  return out;
}

std::string protect_env_refs(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size(); ++i) {
    size_t close = std::string_view::npos;
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') close = matching_brace(text, i + 1);
    if (close == std::string_view::npos) {
      out += text[i];
      continue;
    }
    out += '$';
    for (size_t j = i + 1; j <= close; ++j) {
      size_t k = kFlowChars.find(text[j]);
      if (k == std::string_view::npos) {
        out += text[j];
      } else {
        out += kPuaLead0;
        out += kPuaLead1;
        out += static_cast<char>(0x80 + k);  // U+E000 + k
      }
    }
    i = close;
  }
  return out;
}

std::string restore_env_refs(std::string_view text) {
  if (text.find(kPuaLead0) == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == kPuaLead0 && i + 2 < text.size() && text[i + 1] == kPuaLead1) {
      size_t k = static_cast<unsigned char>(text[i + 2]) - 0x80;
      if (k < kFlowChars.size()) {
        out += kFlowChars[k];
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace detail

std::string expand_env(std::string_view text, const EnvLookup& env, std::vector<std::string>* unset) {
  return detail::expand_env_checked(text, env, unset, nullptr);
}

EnvLookup process_env() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

}  // namespace tg::config
