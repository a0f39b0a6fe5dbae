// Small, allocation-light helpers shared by the mock's pure logic: JSON string escaping, number
// formatting, UTF-8 code-point splitting, word counting, base64 and hashing. No Asio here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::mock {

// Appends `s` as a JSON string literal (with the quotes). Non-ASCII UTF-8 passes through raw,
// control characters are escaped, as OpenAI does.
void append_json_string(std::string& out, std::string_view s);

// Appends the JSON-escaped body of `s` without surrounding quotes.
void append_json_escaped(std::string& out, std::string_view s);

void append_int(std::string& out, std::int64_t v);
void append_uint(std::string& out, std::uint64_t v);
// Shortest text that round-trips as a float32.
void append_float(std::string& out, float v);

// Number of UTF-8 code points (counts every byte that is not a continuation byte).
std::size_t count_code_points(std::string_view s);

// Splits `s` into exactly min(pieces, code points) non-empty parts at code-point boundaries, with
// sizes (in code points) differing by at most one, the larger ones first. An empty `s` gives {}.
std::vector<std::string_view> split_code_points(std::string_view s, std::size_t pieces);

// Number of ASCII-whitespace-separated words.
std::size_t count_words(std::string_view s);

std::string base64_encode(const void* data, std::size_t len);

std::uint64_t fnv1a64(std::string_view s, std::uint64_t seed = 0xcbf29ce484222325ULL);

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

// Parses a non-negative decimal integer; returns -1 on failure.
long long parse_non_negative(std::string_view s);

}  // namespace tollgate::mock
