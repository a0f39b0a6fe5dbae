// Typed reads from YAML nodes. Every problem becomes a ConfigError and decoding goes on, so one
// run reports everything that is wrong with the file.

#include "internal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>

namespace tg::config::detail {
namespace {

// How a node looks, for "expected X, got Y".
std::string describe(NodeRef n) {
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  if (n.IsNull()) return "nothing";
  std::string text = restore_env_refs(n.Scalar());
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return "'" + text + "'";
}

std::string range_message(int64_t min, int64_t max, int64_t v) {
  if (max == std::numeric_limits<int64_t>::max()) return fmt::format("must be at least {}, got {}", min, v);
  return fmt::format("must be between {} and {}, got {}", min, max, v);
}

}  // namespace

int line_of(NodeRef node, int fallback) {
  // A null value's mark points past it (at the next token), so use the key's line instead.
  if (!node.IsDefined() || node.IsNull()) return fallback;
  int line = node.Mark().line;
  return line >= 0 ? line + 1 : fallback;
}

std::string child_path(std::string_view path, std::string_view key) {
  // Keys with dots ("openai/gpt-4.1") are bracketed so the path stays readable.
  bool plain = !key.empty() && key.find_first_of(". []\"") == std::string_view::npos;
  std::string k = plain ? std::string(key) : "[\"" + std::string(key) + "\"]";
  if (path.empty()) return k;
  return std::string(path) + (plain ? "." : "") + k;
}

std::string item_path(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

void Decoder::error(std::string path, int line, std::string message) {
  errors_.push_back(ConfigError{std::move(path), line, std::move(message)});
}

void Decoder::warn(int line, std::string message) { warnings_.emplace_back(line, std::move(message)); }

bool Decoder::each_entry(NodeRef node, PathRef path, int line, const EntryFn& fn) {
  if (node.IsNull()) return true;
  if (!node.IsMap()) {
    error(path, line, "expected a mapping, got " + describe(node));
    return false;
  }
  std::map<std::string, int> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const int key_line = line_of(it->first, line);
    if (!it->first.IsScalar()) {
      error(path, key_line, "keys must be plain strings, got " + describe(it->first));
      continue;
    }
    const std::string key = restore_env_refs(it->first.Scalar());
    const std::string child = child_path(path, key);
    if (auto [pos, fresh] = seen.emplace(key, key_line); !fresh) {
      error(child, key_line, fmt::format("duplicate key '{}' (first on line {})", key, pos->second));
      continue;
    }
    fn(key, it->second, child, key_line);
  }
  return true;
}

bool Decoder::walk_map(NodeRef node, PathRef path, int line, const std::vector<Field>& fields) {
  std::vector<std::string_view> names;
  for (const Field& f : fields) names.push_back(f.name);
  return each_entry(node, path, line, [&](const std::string& key, NodeRef value, PathRef child, int key_line) {
    auto f = std::find_if(fields.begin(), fields.end(), [&](const Field& x) { return x.name == key; });
    if (f == fields.end()) {
      error(child, key_line, "unknown key '" + key + "'" + did_you_mean(key, names));
      return;
    }
    f->decode(value, child, line_of(value, key_line));
  });
}

bool Decoder::each_item(NodeRef node, PathRef path, int line, const ItemFn& fn) {
  if (node.IsNull()) return true;
  if (!node.IsSequence()) {
    error(path, line, "expected a list, got " + describe(node));
    return false;
  }
  for (size_t i = 0; i < node.size(); ++i) fn(node[i], item_path(path, i), line_of(node[i], line));
  return true;
}

std::optional<Scalar> Decoder::scalar(NodeRef n, PathRef path, int line, std::string_view expected,
                                      bool keep_unset) {
  if (n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) {
    error(path, line, fmt::format("expected {}, got {}", expected, describe(n)));
    return std::nullopt;
  }
  Scalar s;
  std::string bad_ref;
  s.text = expand_env_checked(restore_env_refs(n.Scalar()), env_, &s.unset, &bad_ref);
  if (!bad_ref.empty()) {
    error(path, line, bad_ref);
    return std::nullopt;
  }
  if (!keep_unset) {
    for (const std::string& var : s.unset) warn(line, fmt::format("{}: {} is not set", path, var));
  }
  return s;
}

std::optional<std::string> Decoder::string_value(NodeRef n, PathRef path, int line) {
  auto s = scalar(n, path, line, "a string");
  if (!s) return std::nullopt;
  return std::move(s->text);
}

std::optional<int64_t> Decoder::int_value(NodeRef n, PathRef path, int line, int64_t min, int64_t max) {
  auto s = scalar(n, path, line, "an integer");
  if (!s) return std::nullopt;
  auto v = parse_int(s->text);
  if (!v) {
    error(path, line, fmt::format("expected an integer, got '{}'", s->text));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    error(path, line, range_message(min, max, *v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> Decoder::number_value(NodeRef n, PathRef path, int line, double min) {
  auto s = scalar(n, path, line, "a number");
  if (!s) return std::nullopt;
  auto v = parse_number(s->text);
  if (!v) {
    error(path, line, fmt::format("expected a number, got '{}'", s->text));
    return std::nullopt;
  }
  if (*v < min) {
    error(path, line, fmt::format("must be at least {}, got {}", min, s->text));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Decoder::bool_value(NodeRef n, PathRef path, int line) {
  auto s = scalar(n, path, line, "true or false");
  if (!s) return std::nullopt;
  auto v = parse_bool(s->text);
  if (!v) error(path, line, fmt::format("expected true or false, got '{}'", s->text));
  return v;
}

std::optional<uint64_t> Decoder::size_value(NodeRef n, PathRef path, int line) {
  auto s = scalar(n, path, line, "a size");
  if (!s) return std::nullopt;
  auto v = parse_size(s->text);
  if (!v) error(path, line, fmt::format("expected a size like 16MiB, 512KB or a byte count, got '{}'", s->text));
  return v;
}

std::optional<Millis> Decoder::duration_value(NodeRef n, PathRef path, int line, bool positive) {
  auto s = scalar(n, path, line, "a duration");
  if (!s) return std::nullopt;
  auto v = parse_duration(s->text);
  if (!v) {
    error(path, line, fmt::format("expected a duration like 250ms, 30s, 5m, 1h or 1m30s, got '{}'", s->text));
    return std::nullopt;
  }
  if (positive && v->count() == 0) {
    error(path, line, "must be greater than 0");
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> Decoder::enum_value(NodeRef n, PathRef path, int line,
                                               const std::vector<std::string_view>& allowed) {
  auto s = scalar(n, path, line, "one of " + join(allowed, ", "));
  if (!s) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), s->text) != allowed.end()) return std::move(s->text);
  error(path, line, fmt::format("invalid value '{}'{}; expected one of {}", s->text,
                                did_you_mean(s->text, allowed), join(allowed, ", ")));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Decoder::string_list(NodeRef n, PathRef path, int line) {
  std::vector<std::string> out;
  bool ok = true;
  bool is_list = each_item(n, path, line, [&](NodeRef item, PathRef p, int l) {
    auto s = scalar(item, p, l, "a string");
    if (s) out.push_back(std::move(s->text));
    else ok = false;
    if (item.IsNull()) error(p, l, "expected a string, got nothing");
  });
  if (!is_list || !ok) return std::nullopt;
  return out;
}

std::optional<std::map<std::string, std::string>> Decoder::string_map(NodeRef n, PathRef path, int line) {
  std::map<std::string, std::string> out;
  bool ok = true;
  bool is_map = each_entry(n, path, line, [&](const std::string& key, NodeRef value, PathRef p, int l) {
    if (value.IsNull()) {
      out[key] = "";
      return;
    }
    auto s = scalar(value, p, line_of(value, l), "a string");
    if (s) out[key] = std::move(s->text);
    else ok = false;
  });
  if (!is_map || !ok) return std::nullopt;
  return out;
}

std::vector<ConfigError> Decoder::take_errors() {
  // Phase 2 errors come after phase 1 ones; a stable sort by line restores file order.
  std::stable_sort(errors_.begin(), errors_.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  return std::move(errors_);
}

std::vector<std::string> Decoder::take_warnings() {
  std::stable_sort(warnings_.begin(), warnings_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& w : warnings_) out.push_back(std::move(w.second));
  warnings_.clear();
  return out;
}

}  // namespace tg::config::detail
