// tollgate-mock speaking Azure OpenAI, as the service does (provider-formats.md section 5):
//
//   POST /openai/deployments/{deployment}/chat/completions?api-version=YYYY-MM-DD[-preview]
//   POST /openai/deployments/{deployment}/completions?api-version=...
//   POST /openai/deployments/{deployment}/embeddings?api-version=...
//   POST /openai/v1/chat/completions | /openai/v1/completions | /openai/v1/embeddings
//   POST /openai/v1/responses (OpenAI's Responses API, mock_responses.hpp)
//   GET  /openai/v1/models
//
// - Classic paths need api-version (missing or not a dated version: 404
//   {"error":{"code":"404","message":"Resource not found"}}, as Azure answers).
// - Auth, when the mock's --api-key is set: the `api-key` header on every path; on the v1 paths
//   `Authorization: Bearer <key>` too. Azure's 401 bodies ({"error":{"code":"401",...}}).
// - Deployment names starting with "missing" (the path's deployment, or the body's model on v1):
//   404 {"error":{"code":"DeploymentNotFound",...}}.
// - Answers follow the mock's shared rules (docs/mock.md) with the deployment name as `model`,
//   plus Azure's annotations: prompt_filter_results at the top, content_filter_results in each
//   choice; streams start with Azure's `"choices": []` chunk carrying prompt_filter_results only
//   (id "", created 0, model "").
// - `status` faults render Azure's error bodies (429 with retry-after and x-ratelimit-* at 0;
//   a fault with code "content_filter" renders the content-management 400 with its innererror).
// Every answer carries apim-request-id and x-ms-region.
#pragma once

#include "mock_api.hpp"

namespace tollgate::mock {

// Registered at start-up by a static initializer in mock_azure.cpp; exposed for tests.
const ProviderMock& azure_provider_mock();

}  // namespace tollgate::mock
