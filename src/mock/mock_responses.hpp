// tollgate-mock speaking OpenAI's Responses API (POST /v1/responses, and /responses), streamed
// and not, with the shared rules of the chat endpoint (docs/mock.md): the answer is
// "mock: <last user text>", a function tool is called when the input ends with a user message,
// "mock: tool said <output>" after a function_call_output, word counts as input tokens.
//   - `instructions` count as input; `max_output_tokens` (>= 16) cuts the answer: status
//     "incomplete", incomplete_details.reason "max_output_tokens".
//   - usage: input_tokens, input_tokens_details.cached_tokens, output_tokens,
//     output_tokens_details.reasoning_tokens, total_tokens. Cached and reasoning tokens are 0
//     unless the request's x-mock-cached-tokens / x-mock-reasoning-tokens headers set them (a
//     reasoning item then comes first in `output`).
//   - Streams: named events ("event: TYPE\ndata: {...}") numbered by sequence_number, no [DONE]:
//     response.created, response.in_progress, output_item.added, content_part.added,
//     output_text.delta x N, output_text.done, content_part.done, output_item.done,
//     response.completed (or response.incomplete); for a function call, output_item.added,
//     function_call_arguments.delta x N, function_call_arguments.done, output_item.done.
//     error_mid_stream sends an `error` event then `response.failed`, numbered in sequence.
// Azure's v1 API (/openai/v1/responses, mock_azure.cpp) answers with the same handler.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mock_api.hpp"

namespace tollgate::mock {

struct ResponsesRequest {
  const ParsedBody* body = nullptr;
  std::uint64_t seq = 0;
  std::int64_t created = 0;
  std::size_t events = 20;          // maximum number of pieces in an answer
  long long cached_tokens = 0;      // x-mock-cached-tokens (capped at the input tokens)
  long long reasoning_tokens = 0;   // x-mock-reasoning-tokens
};

// The request's fields as the server hands them to a provider mock (headers read here).
ResponsesRequest responses_request(const ProviderRequest& req);

// Validation and the answer (no auth: the caller checks credentials its own way).
Reply handle_responses(const ResponsesRequest& req);

// Registered at start-up by a static initializer in mock_responses.cpp; exposed for tests.
const ProviderMock& responses_provider_mock();

}  // namespace tollgate::mock
