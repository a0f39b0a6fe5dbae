// tollgate-mock speaking Anthropic's Messages API, as the real service does (provider-formats.md
// sections 2 and 10): auth (x-api-key, or Authorization: Bearer as the newer SDKs send), the
// required anthropic-version header, validation errors in Anthropic's error shape, named SSE
// events with a ping mid-stream, input_json_delta fragments split at arbitrary positions after
// an empty first fragment, cumulative message_delta usage, no [DONE]. Pure (no Asio): it plugs
// into the ProviderMock registry of mock_api.hpp by itself.
//
//   POST /v1/messages               (streamed and not)
//   POST /v1/messages/count_tokens  -> {"input_tokens": N}
//
// Answers follow the mock's shared rules (docs/mock.md); Anthropic specifics:
// - `thinking` {"type":"enabled","budget_tokens":N} (or "adaptive") puts a thinking block
//   "mock thinking" with signature "mock-signature-<seq>" before the answer; a replayed thinking
//   block without a signature is refused (400), as Anthropic does;
// - max_tokens below the number of answer pieces cuts a text answer: stop_reason max_tokens;
// - a stop sequence found in a text answer cuts it there: stop_reason stop_sequence;
// - tool_use ids must match ^[a-zA-Z0-9_-]+$, every tool_result must answer a tool_use of the
//   previous message, every tool_use must be answered in the next message, and requests with
//   tool blocks must define tools (each a 400 invalid_request_error, as Anthropic does);
// - faults: 429 carries retry-after and anthropic-ratelimit-* headers, 529 is overloaded_error,
//   error_mid_stream sends `event: error` (overloaded_error).
#pragma once

#include "mock_api.hpp"

namespace tollgate::mock {

// Registered at start-up by a static initializer in mock_anthropic.cpp; exposed for tests.
const ProviderMock& anthropic_provider_mock();

}  // namespace tollgate::mock
