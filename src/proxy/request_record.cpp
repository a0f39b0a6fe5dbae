// The request record, built once per request and projected three ways: the store's row (and
// spend), the metrics sample, the access-log line.

#include "request_record.hpp"

#include <cmath>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "tollgate/app/logging.hpp"
#include "tollgate/core/text.hpp"
#include "tollgate/server/worker.hpp"

namespace tg::proxy {

using json = nlohmann::json;

// Queues the request's row (and spend) for the store; never waits on the disk.
void record_request(const RequestContext& ctx, int status, double duration_ms) {
  auto* store = ctx.worker.shared().store;
  if (!store || ctx.skip_store) return;
  const auto& r = ctx.record;
  store::RequestRow row;
  row.ts_ms = ctx.start_unix_ms;
  row.request_id = ctx.request_id;
  row.key_id = r.key_id;
  row.key_name = r.key_name;
  row.team = r.team;
  row.model = r.model;
  row.provider = r.provider;
  row.upstream_model = r.upstream_model;
  row.attempts = r.attempts;
  row.status = status;
  row.error_code = r.error_code;
  row.stream = r.stream;
  row.latency_ms = duration_ms;
  row.ttft_ms = r.ttft_ms;
  row.input_tokens = r.input_tokens;
  row.output_tokens = r.output_tokens;
  row.cached_tokens = r.cached_tokens;
  row.reasoning_tokens = r.reasoning_tokens;
  row.cache_write_tokens = r.cache_write_tokens;
  row.cost_nano = r.cost_nano;
  row.usage_estimated = r.usage_estimated;
  row.attempt_log = r.attempt_log;
  const auto& logs = ctx.snapshot->config.logs;
  if (logs.bodies) {
    row.request_body = ctx.request.body().substr(0, logs.max_body_bytes);
    row.response_body = r.response_body;
  }
  std::vector<store::SpendDelta> spend;
  for (const auto& d : r.spend) spend.push_back(store::SpendDelta{d.holder, d.period_start, d.nano_usd});
  store->record(std::move(row), std::move(spend));
}

void log_access(const RequestContext& ctx, double duration_ms) {
  const auto& r = ctx.record;
  int status = ctx.out.status();
  if (ctx.snapshot->config.server.log_format == "json") {
    json line = {{"type", "access"},
                 {"request_id", ctx.request_id},
                 {"method", std::string_view(ctx.request.method_string().data(),
                                             ctx.request.method_string().size())},
                 {"path", ctx.path},
                 {"status", status},
                 {"duration_ms", std::round(duration_ms * 1000) / 1000},
                 {"model", r.model},
                 {"provider", r.provider},
                 {"upstream_model", r.upstream_model},
                 {"attempts", r.attempts},
                 {"stream", r.stream},
                 {"ttft_ms", r.ttft_ms >= 0 ? json(std::round(r.ttft_ms * 1000) / 1000) : json()},
                 {"tokens_in", r.input_tokens},
                 {"tokens_out", r.output_tokens},
                 {"error", r.error_code}};
    std::string text = line.dump(-1, ' ', false, json::error_handler_t::replace);
    // The access log supplies the outer object (with the timestamp).
    tg::app::access_log(std::string_view(text).substr(1, text.size() - 2));
    return;
  }
  // Client-chosen strings (model, path, request id) are escaped: one request, one line. Built in
  // one buffer per thread, reused (no string per field, no allocation once it has grown).
  thread_local std::string line;
  line.clear();
  auto number = [&](auto v) { line.append(NumberText(v)); };
  auto millis = [&](double ms) { line.append(NumberText(ms, 3)); };
  auto text = [&](std::string_view name, std::string_view s) {
    line += name;
    log_escape_into(line, s.empty() ? std::string_view("-") : s);
  };
  line += "id=";
  log_escape_into(line, ctx.request_id);
  line += ' ';
  log_escape_into(line, std::string_view(ctx.request.method_string().data(),
                                         ctx.request.method_string().size()));
  line += ' ';
  log_escape_into(line, ctx.path);
  line += " status=";
  number(status);
  line += " dur_ms=";
  millis(duration_ms);
  text(" model=", r.model);
  text(" provider=", r.provider);
  text(" upstream_model=", r.upstream_model);
  line += " attempts=";
  number(r.attempts);
  line += r.stream ? " stream=true ttft_ms=" : " stream=false ttft_ms=";
  if (r.ttft_ms >= 0) millis(r.ttft_ms);
  else line += '-';
  line += " tokens_in=";
  number(r.input_tokens);
  line += " tokens_out=";
  number(r.output_tokens);
  if (!r.error_code.empty()) {
    line += " error=";
    log_escape_into(line, r.error_code);
  }
  tg::app::access_log(line);
}

metrics::RequestSample sample_of(const RequestContext& ctx, int status, double duration_ms) {
  const auto& r = ctx.record;
  metrics::RequestSample s;
  s.model = r.model;  // as asked: Metrics folds it
  s.provider = r.provider;
  s.status = status;
  s.duration_s = duration_ms / 1000.0;
  if (r.attempts > 0) s.upstream_s = r.upstream_ms / 1000.0;
  s.overhead_s = std::max(0.0, (duration_ms - r.upstream_ms) / 1000.0);
  s.ttft_s = r.ttft_ms >= 0 ? r.ttft_ms / 1000.0 : -1;
  s.input_tokens = r.input_tokens;
  s.output_tokens = r.output_tokens;
  s.cached_tokens = r.cached_tokens;
  s.reasoning_tokens = r.reasoning_tokens;
  s.cache_write_tokens = r.cache_write_tokens;
  s.attempts = r.attempts;
  s.failover = r.failover;
  return s;
}

}  // namespace tg::proxy
