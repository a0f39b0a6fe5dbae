#include "tollgate/core/text.hpp"

namespace tg {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_list(std::string_view list, char sep) {
  std::vector<std::string_view> items;
  for (;;) {
    size_t end = list.find(sep);
    std::string_view item = trim(list.substr(0, end));
    if (!item.empty()) items.push_back(item);
    if (end == std::string_view::npos) return items;
    list.remove_prefix(end + 1);
  }
}

void log_escape_into(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto plain = [](unsigned char c) { return c >= 0x20 && c != 0x7f; };
  while (!s.empty()) {
    // The printable run is appended whole (a character at a time cost a call each).
    size_t run = 0;
    while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) ++run;
    out.append(s.data(), run);
    if (run == s.size()) return;
    const auto c = static_cast<unsigned char>(s[run]);
    s.remove_prefix(run + 1);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

std::string log_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  log_escape_into(out, s);
  return out;
}

}  // namespace tg
