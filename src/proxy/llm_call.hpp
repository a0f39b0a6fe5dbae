#pragma once
// One LLM call, in whatever dialect the client speaks (src/proxy/llm_call.cpp).

#include <boost/asio/awaitable.hpp>

#include "tollgate/dialects/dialect.hpp"
#include "tollgate/providers/adapter.hpp"
#include "tollgate/proxy/handlers.hpp"

namespace tg::proxy {

// Parses the body with the codec, plans, admits, tries the targets and answers the client;
// always answers (unless the client is gone) and leaves the request record filled in.
boost::asio::awaitable<void> run_llm_call(RequestContext& ctx, const dialects::Codec& codec,
                                          providers::Endpoint endpoint);

}  // namespace tg::proxy
