// The admin API's JSON (/admin/keys, /admin/teams; pure: admin::admin_api over a fresh
// governance state). The method and path come from the input's hash, the body is the input.
// Invariants: no throw or crash; every answer is a JSON body with an HTTP status, an error one
// OpenAI-shaped.

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "tollgate/admin/governance_state.hpp"

using namespace tg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::bytes(data, size);
  const uint64_t h = fuzz::hash(in);
  admin::GovernanceState state;
  (void)state.load(store::LoadedState{}, config::Config{});
  // A team and a key to edit, made through the API itself.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'780'000'000));
  auto team = admin::admin_api(state, "POST", "/admin/teams",
                               R"({"name":"t1","budget":{"usd":5,"period":"monthly"}})", now);
  TG_FUZZ_CHECK(team.status == 200);
  auto key = admin::admin_api(state, "POST", "/admin/keys",
                              R"({"name":"k1","team":"t1","budget":{"usd":1,"period":"daily"}})", now);
  TG_FUZZ_CHECK(key.status == 200);
  // The body may come later (store-first writes answer once the store has the change).
  std::string key_id = "k1";
  if (key.body.is_object() && key.body.contains("id") && key.body["id"].is_string()) key_id = key.body["id"];
  const std::string key_path = "/admin/keys/" + key_id;

  static constexpr std::string_view kMethods[] = {"POST", "PATCH", "PUT", "DELETE", "GET"};
  const std::string_view method = kMethods[h % std::size(kMethods)];
  const std::string paths[] = {"/admin/keys", "/admin/teams", key_path, "/admin/teams/t1"};
  const std::string& path = paths[(h >> 8) % std::size(paths)];

  admin::AdminResponse r = admin::admin_api(state, method, path, in, now);
  TG_FUZZ_CHECK(r.status >= 200 && r.status < 600);
  if (r.status >= 400 && r.body.is_object()) TG_FUZZ_CHECK(r.body.contains("error"));
  (void)r.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
