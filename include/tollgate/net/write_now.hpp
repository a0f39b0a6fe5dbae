#pragma once
// Writing to a plain TCP socket without going through the event loop when the socket takes the
// bytes at once, as nginx writes.
//
// Asio completes every asynchronous operation through its scheduler, one that finished at once
// included: a write the kernel took whole costs a posted completion, a non-blocking epoll_wait
// before its handler runs, a coroutine suspension and resumption, and a deadline timer armed and
// cancelled around it. An answer, an upstream request or a streamed event almost always fits in
// the socket's send buffer, so it needs none of that: one send is enough. Only what the kernel
// did not take (a slow reader, a large body) goes through async_write, with its deadline.

#include <cstddef>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

namespace tg::io {

// One non-blocking gather send of `bufs` on `socket` (an asio TCP socket). Returns the bytes the
// kernel took: all of them, a part (its send buffer is full), or none (would_block, not an
// error). `ec` is set only on a real failure (the peer is gone).
template <class Socket, class ConstBuffers>
size_t write_now(Socket& socket, const ConstBuffers& bufs, boost::system::error_code& ec) {
  ec = {};
  // Once per connection (an ioctl), then a flag in Asio's socket state: sync operations on it
  // return would_block instead of waiting, which is what this wants. Asio's async operations
  // ignore the flag.
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);
    if (ec) return 0;
  }
  const size_t n = socket.write_some(bufs, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
  return ec ? 0 : n;
}

}  // namespace tg::io
