// tollgate-mock: a deterministic, fault-injectable OpenAI-compatible upstream for tests, demos and
// benchmarks. See docs/mock.md.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mock_server.hpp"
#include "mock_util.hpp"

namespace {

using tollgate::mock::Options;

constexpr const char* kUsage =
    "usage: tollgate-mock [--listen HOST:PORT] [--port-file PATH] [--threads N]\n"
    "                     [--api-key KEY] [--events N] [--interval-ms N] [--latency-ms N]\n"
    "                     [--fail-status CODE [--fail-count N]] [--usage-on-last-chunk]\n"
    "                     [--keepalive-timeout-ms N]\n"
    "\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:9001; port 0 = any free port)\n"
    "  --port-file PATH    write the bound port number to PATH (atomically) once listening\n"
    "  --threads N         worker threads, one io_context + SO_REUSEPORT acceptor each (default 1)\n"
    "  --api-key KEY       require 'Authorization: Bearer KEY' on API requests\n"
    "  --events N          content chunks per streamed answer (default 20)\n"
    "  --interval-ms N     pause between stream events (default 0)\n"
    "  --latency-ms N      delay before every API response head (default 0)\n"
    "  --fail-status CODE  answer the first --fail-count API requests (default 1) with CODE\n"
    "  --fail-count N\n"
    "  --usage-on-last-chunk  streams always put usage on their last choice chunk (Mistral, vLLM)\n"
    "  --keepalive-timeout-ms N  close keep-alive connections idle this long (default 0: never)\n"
    "\n"
    "See docs/mock.md for endpoints and fault injection.\n";

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "tollgate-mock: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

long long number(std::string_view flag, const std::string& v, long long lo, long long hi) {
  const long long n = tollgate::mock::parse_non_negative(v);
  if (n < lo || n > hi) {
    die(std::string(flag) + " expects an integer between " + std::to_string(lo) + " and " +
        std::to_string(hi) + ", got '" + v + "'");
  }
  return n;
}

void parse_listen(const std::string& v, Options& o) {
  std::string host;
  std::string port;
  if (!v.empty() && v.front() == '[') {  // [::1]:9001
    const auto close = v.find(']');
    if (close == std::string::npos) die("bad --listen value '" + v + "'");
    host = v.substr(1, close - 1);
    if (close + 1 < v.size()) {
      if (v[close + 1] != ':') die("bad --listen value '" + v + "'");
      port = v.substr(close + 2);
    }
  } else if (const auto colon = v.rfind(':'); colon != std::string::npos) {
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  } else if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos) {
    port = v;  // just a port
  } else {
    host = v;  // just a host
  }
  if (!host.empty()) o.host = host;
  if (!port.empty()) o.port = static_cast<unsigned short>(number("--listen port", port, 0, 65535));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool have_fail_count = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_inline = true;
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    auto next = [&]() -> std::string {
      if (has_inline) return value;
      if (i + 1 >= argc) die("missing value for " + arg);
      return argv[++i];
    };
    if (arg == "--listen") {
      parse_listen(next(), o);
    } else if (arg == "--port-file") {
      o.port_file = next();
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(number(arg, next(), 1, 256));
    } else if (arg == "--api-key") {
      o.api_key = next();
    } else if (arg == "--events") {
      o.events = number(arg, next(), 1, 100000);
    } else if (arg == "--interval-ms") {
      o.interval_ms = number(arg, next(), 0, 3600000);
    } else if (arg == "--latency-ms") {
      o.latency_ms = number(arg, next(), 0, 3600000);
    } else if (arg == "--fail-status") {
      o.fail_status = static_cast<int>(number(arg, next(), 100, 599));
    } else if (arg == "--keepalive-timeout-ms") {
      o.keepalive_timeout_ms = number(arg, next(), 0, 3600000);
    } else if (arg == "--usage-on-last-chunk") {
      o.usage_on_last_chunk = true;
    } else if (arg == "--fail-count") {
      o.fail_count = number(arg, next(), 1, 1000000000);
      have_fail_count = true;
    } else {
      die("unknown argument '" + arg + "'");
    }
  }
  if (have_fail_count && o.fail_status == 0) {
    die("--fail-count needs --fail-status");
  }
  return tollgate::mock::run_server(o);
}
