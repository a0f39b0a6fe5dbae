// tollgate-mock's media endpoints (mock_media.cpp), also served on Azure's paths (mock_azure.cpp).
#pragma once

#include <string_view>

#include "mock_api.hpp"

namespace tollgate::mock {

// "/audio/transcriptions", "/audio/translations", "/audio/speech", "/images/generations",
// "/images/edits", "/images/variations", "/moderations", "/rerank".
bool is_media_route(std::string_view route);

// Answers a media request for that route (the provider's auth already checked).
Reply handle_media(const ProviderRequest& req, std::string_view route);

}  // namespace tollgate::mock
