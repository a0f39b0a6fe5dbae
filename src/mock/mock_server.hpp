// The network shell of tollgate-mock: acceptors, keep-alive HTTP/1.1 sessions (Boost.Beast,
// C++20 coroutines), response framing, pacing and fault execution.
#pragma once

#include "mock_state.hpp"

namespace tollgate::mock {

// Binds, prints "tollgate-mock listening on HOST:PORT", writes the port file, serves until
// SIGINT/SIGTERM. Returns the process exit code.
int run_server(const Options& opts);

}  // namespace tollgate::mock
