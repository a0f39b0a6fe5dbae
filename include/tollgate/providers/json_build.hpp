#pragma once
// Building the parser's document from text that json_scan::valid has accepted: the document
// nlohmann::json::parse returns for it, node for node (the same number types, a repeated key's
// last value, a leading BOM skipped, the text after a NUL byte ignored), without the parser's
// lexer, which copies every character of every token one at a time. A string without escapes is
// one copy; a number is read once.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tg::providers::json_scan {

// Precondition: valid(text) (so every token is well-formed and nesting is bounded). On other
// text the result is unspecified but memory-safe.
nlohmann::json build(std::string_view text);

// Valid text without the whitespace between its tokens, strings copied as written: the same
// document, on one line (it can go into an SSE data line as it is).
std::string compact(std::string_view valid_text);

// What nlohmann::json::parse(text, nullptr, false) returns (a discarded value for text it refuses),
// built as above; also refused: text nested deeper than kMaxValidDepth (the parser's own
// recursion, and that of every copy and dump of its document, would follow it down).
nlohmann::json parse(std::string_view text);

}  // namespace tg::providers::json_scan
