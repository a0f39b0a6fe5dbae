#pragma once
// What the media endpoints are billed by, read from requests and answers. Pure.

#include <cstdint>
#include <optional>
#include <string_view>

#include "tollgate/providers/adapter.hpp"

namespace tg::media {

// A WAV file's length from its header (fmt byte rate, data size); nullopt when it is not one.
std::optional<int64_t> wav_duration_ms(std::string_view file);

// An audio file's length: exact for WAV, else from its size at a typical bitrate for its kind
// (128 kbit/s for mp3, m4a, mp4, mpeg, mpga, ogg, webm; 700 kbit/s for flac). Never below 1 s.
int64_t estimate_audio_ms(std::string_view file, std::string_view filename);

// Unicode code points of UTF-8 text (what speech is billed by); invalid bytes count one each.
int64_t utf8_chars(std::string_view text);

// The usage an OpenAI-style media answer reports (its JSON text): tokens from `usage`
// ({prompt_tokens, completion_tokens}, {input_tokens, output_tokens}, Jina's {total_tokens}),
// audio from `usage: {type: "duration", seconds}` or a verbose transcript's `duration`, search
// units from Cohere's `meta.billed_units`. Units not reported stay 0.
providers::Usage reported_usage(std::string_view answer);

// The last `data:` event of an SSE text that holds a "usage" member (a streamed transcript's
// transcript.text.done), or "" when none.
std::string_view last_usage_event(std::string_view sse_tail);

}  // namespace tg::media
