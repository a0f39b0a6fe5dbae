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

}  // namespace tg
