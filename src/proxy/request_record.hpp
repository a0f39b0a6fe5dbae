#pragma once
// Projections of a finished request's record (src/proxy/request_record.cpp).

#include "tollgate/metrics/metrics.hpp"
#include "tollgate/proxy/handlers.hpp"

namespace tg::proxy {

// Queues the request's row (and spend) for the store; never waits on the disk.
void record_request(const RequestContext& ctx, int status, double duration_ms);
// The metrics sample of a finished LLM call.
metrics::RequestSample sample_of(const RequestContext& ctx, int status, double duration_ms);
// One access-log line (text or JSON); never a key, never a body.
void log_access(const RequestContext& ctx, double duration_ms);

}  // namespace tg::proxy
