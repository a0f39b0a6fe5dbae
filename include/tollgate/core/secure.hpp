#pragma once
// Secret handling helpers. Pure.

#include <string>
#include <string_view>

namespace tg {

// Compares in time that depends only on the length of `presented` (never on where they differ
// or on the secret's length).
bool constant_time_equals(std::string_view presented, std::string_view secret);

// Lowercase hex SHA-256.
std::string sha256_hex(std::string_view data);

// "sk-...wxyz": enough to recognise a key in a log, never enough to use it.
std::string redact_key(std::string_view key);

}  // namespace tg
