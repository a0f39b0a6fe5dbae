#pragma once
// Bedrock's errors (provider-formats.md 4.7): HTTP error bodies and in-stream exception frames.

#include <string>
#include <string_view>

namespace tg::providers::bedrock {

// The exception name of an error answer: the body's "__type" (namespace and URL stripped), else
// inferred from the status and the message (the x-amzn-ErrorType header is not available).
std::string exception_name(int status, std::string_view type_field, std::string_view message);

// An in-stream exception frame (:exception-type throttlingException, ...) in OpenAI's terms.
struct StreamError {
  std::string message;
  std::string type;
  std::string code;
};
StreamError stream_error(std::string_view exception_type, std::string_view message);

}  // namespace tg::providers::bedrock
