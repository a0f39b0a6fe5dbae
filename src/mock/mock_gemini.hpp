// tollgate-mock speaking Google's Gemini API (Generative Language API v1beta), as the real
// service does: paths, auth (x-goog-api-key or ?key=), validation errors, google.rpc error bodies,
// SSE streams with CRLF-terminated events and no sentinel, and the JSON-array stream without
// alt=sse. Pure (no Asio): it plugs into the ProviderMock registry of mock_api.hpp by itself.
//
//   POST /v1beta/models/{model}:generateContent
//   POST /v1beta/models/{model}:streamGenerateContent[?alt=sse]
//   POST /v1beta/models/{model}:countTokens
//   POST /v1beta/models/{model}:embedContent
//   POST /v1beta/models/{model}:batchEmbedContents
//   GET  /v1beta/models, GET /v1beta/models/{model}
//
// Answers follow the mock's shared rules (docs/mock.md); Gemini specifics:
// - thinking (generationConfig.thinkingConfig with a budget other than 0, or a thinkingLevel)
//   adds thoughtsTokenCount, and with includeThoughts a `thought: true` part first;
// - a last user text containing "BLOCKME" gets a blocked-prompt answer (promptFeedback.blockReason
//   SAFETY, no candidates);
// - models named gemini-3* put a thoughtSignature on function-call parts and refuse (400) a
//   replayed function call whose signature is missing or not the one they gave;
// - maxOutputTokens below the number of answer pieces cuts the answer: finishReason MAX_TOKENS.
#pragma once

#include "mock_api.hpp"

namespace tollgate::mock {

// Registered at start-up by a static initializer in mock_gemini.cpp; exposed for tests.
const ProviderMock& gemini_provider_mock();

}  // namespace tollgate::mock
