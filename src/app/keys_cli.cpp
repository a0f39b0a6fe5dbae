// `tollgate keys create|list|revoke`: manage virtual keys from a shell (a NAS console, say) by
// calling the running daemon's admin API, so the change applies at once and is persisted there.

#include "tollgate/app/keys_cli.hpp"

#include <cstdlib>
#include <iostream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include "tollgate/core/url.hpp"

namespace tg::app {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

constexpr const char* kUsage = R"(Usage:
  tollgate keys create --name NAME [--models a,b] [--budget-usd N --period daily|weekly|monthly|total]
                       [--rpm N] [--tpm N] [--parallel N] [--team TEAM] [--expires YYYY-MM-DD]
  tollgate keys list
  tollgate keys revoke ID
Talks to the running daemon: --url (default $TOLLGATE_URL or http://127.0.0.1:8080) with the
master key from --master-key or $TOLLGATE_MASTER_KEY.
)";

struct Reply {
  int status = 0;
  std::string body;
  std::string error;
};

Reply call(const Url& url, const std::string& master, http::verb verb, const std::string& target,
           const std::string& body) {
  Reply r;
  try {
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(url.host, std::to_string(url.port)));
    http::request<http::string_body> req{verb, url.path + target, 11};
    req.set(http::field::host, url.authority());
    req.set(http::field::authorization, "Bearer " + master);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int fail(const std::string& msg) {
  std::cerr << "error: " << msg << "\n";
  return 1;
}

}  // namespace

int keys_cli(int argc, char** argv) {
  if (argc < 1) {
    std::cerr << kUsage;
    return 2;
  }
  std::string command = argv[0];
  std::string url_text = std::getenv("TOLLGATE_URL") ? std::getenv("TOLLGATE_URL") : "http://127.0.0.1:8080";
  std::string master = std::getenv("TOLLGATE_MASTER_KEY") ? std::getenv("TOLLGATE_MASTER_KEY") : "";
  json create = json::object();
  std::string id;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "error: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") url_text = value();
    else if (a == "--master-key") master = value();
    else if (a == "--name") create["name"] = value();
    else if (a == "--models") create["models"] = split(value());
    else if (a == "--team") create["team"] = value();
    else if (a == "--budget-usd") create["budget"]["usd"] = std::atof(value().c_str());
    else if (a == "--period") create["budget"]["period"] = value();
    else if (a == "--rpm") create["limits"]["rpm"] = std::atoll(value().c_str());
    else if (a == "--tpm") create["limits"]["tpm"] = std::atoll(value().c_str());
    else if (a == "--parallel") create["limits"]["parallel"] = std::atoll(value().c_str());
    else if (a == "--expires") create["expires_at"] = value();
    else if (a[0] != '-' && id.empty()) id = a;
    else {
      std::cerr << "error: unknown argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  auto url = parse_url(url_text);
  if (!url) return fail("bad --url " + url_text);
  if (master.empty()) return fail("set TOLLGATE_MASTER_KEY or pass --master-key");

  Reply r;
  if (command == "create") {
    if (!create.contains("name")) return fail("--name is required");
    r = call(*url, master, http::verb::post, "/admin/keys", create.dump());
  } else if (command == "list") {
    r = call(*url, master, http::verb::get, "/admin/keys", "");
  } else if (command == "revoke") {
    if (id.empty()) return fail("revoke needs a key id (see `tollgate keys list`)");
    r = call(*url, master, http::verb::delete_, "/admin/keys/" + id, "");
  } else {
    std::cerr << kUsage;
    return 2;
  }
  if (!r.error.empty()) return fail("cannot reach tollgate at " + url_text + ": " + r.error);
  json j = json::parse(r.body, nullptr, false);
  if (r.status >= 300) {
    std::string msg = j.is_object() && j.contains("error") ? j["error"].value("message", r.body) : r.body;
    return fail("HTTP " + std::to_string(r.status) + ": " + msg);
  }
  if (command == "create") {
    std::cout << "Created key " << j.value("id", "") << " (" << j.value("name", "") << ")\n"
              << "  key: " << j.value("key", "") << "\n"
              << "Store it now: it is shown only once (Tollgate keeps only its hash).\n";
  } else if (command == "list") {
    for (const auto& k : j.value("data", json::array())) {
      std::cout << k.value("id", "") << "  " << k.value("name", "") << "  team="
                << (k.contains("team") && k["team"].is_string() ? k["team"].get<std::string>() : "-")
                << "  enabled=" << (k.value("enabled", true) ? "yes" : "no")
                << "  spend_usd=" << k.value("spend_usd", 0.0) << "\n";
    }
  } else {
    std::cout << "Revoked " << id << "\n";
  }
  return 0;
}

}  // namespace tg::app
