#pragma once
// A response header name, checked when compiled: only a string literal made of RFC 9110 token
// characters converts to one, so no client-chosen text can ever become a header name (response
// splitting) and the request path does not check names character by character.

#include <string_view>

namespace tg {

class HeaderName {
 public:
  // consteval: a literal that is not a token fails to compile ("not a constant expression").
  consteval HeaderName(const char* name) : text_(name) {
    if (text_.empty()) throw "a header name is not empty";
    for (char c : text_) {
      if (!token_char(c)) throw "a header name is made of RFC 9110 token characters";
    }
  }
  constexpr std::string_view text() const { return text_; }

  static constexpr bool token_char(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  }

 private:
  std::string_view text_;
};

}  // namespace tg
