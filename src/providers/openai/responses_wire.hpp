#pragma once
// OpenAI's Responses API (POST /responses) as an upstream wire format, for the targets that serve
// it natively: OpenAI, Azure's v1 API, and the OpenAI-compatible hosts with `responses: native`.
// The client's body goes up with only its model set, and the answer comes back as it is. Pure.
//
// Only usage and failures are read: the top-level members of a non-streamed body (one walk, no
// parse of the output), and in a stream the terminal events (whose response.usage is parsed
// alone) and `error`. Every other event is classified by its `event:` name (or its top-level
// "type" when the name is missing) and forwarded without being parsed.

#include <memory>
#include <string>
#include <string_view>

#include "tollgate/providers/adapter.hpp"

namespace tg::providers::responses_wire {

// The client's Responses body with "model" set to upstream_model: its own bytes with the value
// spliced in when that is the whole change, else serialised member by member from the parsed
// document. Nothing is added: the Responses API has no stream_options.include_usage (its
// streams always end with usage in response.completed).
std::string serialize_body(const ClientRequest& req, std::string_view upstream_model);

// A non-streamed Responses answer, passed through as it is with usage read from its top-level
// `usage`. A body that is a bare error object, or a response with status "failed", is an Error
// (the router fails over): the upstream could not answer.
Response pass_through_response(std::string&& body);

// Upstream Responses events in, the same events out, byte for byte ("event: NAME\ndata: JSON\n\n"
// as OpenAI writes them). Held back until the first other event: response.created,
// response.in_progress and response.queued, so that an `error` or response.failed before any
// output is an UpstreamError with nothing sent (the router can still fail over). Usage is read
// from response.completed, response.incomplete and response.failed.
// Ends: response.completed / response.incomplete -> Done. response.failed -> UpstreamError (the
// event itself is forwarded once the stream is committed: the client sees the failure in its own
// shape, and the request is logged as failed). An `error` event after the commit is forwarded
// and the stream goes on to the response.failed that follows it; an upstream that closes right
// after its error also ends as UpstreamError (the client already has the error).
std::unique_ptr<StreamTranslator> make_event_stream();

}  // namespace tg::providers::responses_wire
