// tollgate-mock speaking AWS Bedrock Runtime's Converse and ConverseStream (provider-formats.md
// section 4): POST /model/{modelId}/converse and /model/{modelId}/converse-stream. Registers
// itself with the provider-mock registry; the functions below are exposed for tests.
#pragma once

#include <string>
#include <string_view>

#include "mock_api.hpp"

namespace tollgate::mock::bedrock {

// True for /model/{id}/converse and /model/{id}/converse-stream.
bool claims(std::string_view path);
// The URL-decoded model id of such a path ("" when the path is not one).
std::string model_id(std::string_view path);

// SigV4 (secret = api_key) or "Authorization: Bearer <api_key>" check; nullopt when accepted.
// `now_unix` is the current time (signatures older or newer than 15 minutes are refused).
std::optional<Reply> check_auth(const ProviderRequest& req, long long now_unix);

// The Converse / ConverseStream answer (auth included).
Reply handle(const ProviderRequest& req);

// An AWS error: {"message": ...} and x-amzn-ErrorType.
Reply error(int status, std::string_view exception, std::string_view message);

}  // namespace tollgate::mock::bedrock
