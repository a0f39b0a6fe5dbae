#pragma once
// Waiting for something asynchronous in a test (a flush, a reload, a TTL) without a fixed sleep:
// polls the predicate until it holds or the timeout passes, so a test is as fast as the system
// and only as slow as the timeout when it is really broken (or the machine very loaded: the
// sanitizer builds run several times slower).

#include <chrono>
#include <thread>

namespace tg::test {

template <class Predicate>
bool eventually(Predicate&& cond, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(poll);
  }
  return cond();
}

}  // namespace tg::test
