#pragma once
// Counts the output a stream delivered, from the client-bound events themselves, for when the
// provider's usage never comes: OpenAI, Azure, the OpenAI-compatible family and Bedrock report it
// last, so a client that hangs up early (or a server that ignores include_usage) leaves none.
// The provider bills those tokens all the same, so Tollgate charges an estimate. Pure.

#include <cstdint>
#include <string_view>

namespace tg::providers {

class OutputMeter {
 public:
  // Feeds whole client-bound SSE events (OpenAI chunks, Anthropic events, or Responses events
  // passed through): the generated string values ("content", "text", "arguments",
  // "reasoning_content", "partial_json", "thinking", a Responses event's "delta", ...) are
  // measured without parsing the JSON. A Responses event that repeats text already streamed
  // (`response.output_text.done`, `response.output_item.done`, `response.completed`, ...) adds
  // nothing.
  void feed(std::string_view events);

  // max(pieces of generated text seen, ceil(bytes / 4)): a streamed piece is at least one
  // token (OpenAI sends one per chunk), and English runs about 4 bytes per token.
  int64_t tokens() const;
  int64_t bytes() const { return bytes_; }
  int64_t pieces() const { return pieces_; }

 private:
  int64_t bytes_ = 0;
  int64_t pieces_ = 0;
  bool repeat_ = false;  // inside a Responses event that repeats streamed text (until the next type)
};

}  // namespace tg::providers
