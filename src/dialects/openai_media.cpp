// The media endpoints: audio (transcriptions, translations, speech), images (generations, edits,
// variations), moderations and rerank. OpenAI's shapes (Cohere's and Jina's for rerank), passed
// through to OpenAI-style targets with the model set; uploads (multipart/form-data) are read
// without copying their files and re-emitted with the model field replaced. What each call is
// billed by (images, audio minutes, characters, search units, or the tokens the provider
// reports) is read here; the proxy prices it (governance::cost_of).

#include <charconv>

#include <fmt/format.h>

#include "tollgate/dialects/dialect.hpp"
#include "tollgate/dialects/media_units.hpp"
#include "tollgate/sse/sse.hpp"

namespace tg::dialects {

namespace {

using json = nlohmann::json;
using providers::Endpoint;

// Answers are relayed as they are; a stream that breaks has no error event of its own (audio
// bytes), so the proxy closes the connection instead of ending the body.
class MediaEgress final : public Egress {
 public:
  void feed(std::string_view canonical, std::string& out) override { out.append(canonical); }
  void finish(std::string&) override {}
  void fail(const Error&, std::string&) override {}
};

bool is_upload(Endpoint e) {
  return e == Endpoint::AudioTranscriptions || e == Endpoint::AudioTranslations ||
         e == Endpoint::ImagesEdits || e == Endpoint::ImagesVariations;
}

bool is_image(Endpoint e) {
  return e == Endpoint::ImagesGenerations || e == Endpoint::ImagesEdits ||
         e == Endpoint::ImagesVariations;
}

bool is_transcript(Endpoint e) {
  return e == Endpoint::AudioTranscriptions || e == Endpoint::AudioTranslations;
}

// OpenAI's defaults where the model may be left out; "" = required.
std::string_view default_model(Endpoint e) {
  switch (e) {
    case Endpoint::ImagesGenerations:
    case Endpoint::ImagesEdits:
    case Endpoint::ImagesVariations: return "dall-e-2";
    case Endpoint::Moderations: return "omni-moderation-latest";
    default: return "";
  }
}

std::optional<int64_t> small_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

class MediaCall final : public Call {
 public:
  MediaCall(Endpoint e, json&& body) : endpoint_(e), body_(std::move(body)) {
    req_.endpoint = e;
    req_.set_doc(&body_);
  }

  // Reads the request; nullopt when it is acceptable.
  std::optional<Error> read(const ClientInput& in) {
    input_tokens_ = (static_cast<int64_t>(in.body.size()) + 3) / 4;
    if (is_upload(endpoint_)) {
      if (auto e = read_form(in)) return e;
    } else {
      req_.raw_body = in.body;
    }
    auto m = body_.find("model");
    if (m == body_.end() || m->is_null()) {
      std::string_view def = default_model(endpoint_);
      if (def.empty()) return Error::bad_request("you must provide a model parameter", "model");
      body_["model"] = def;
      req_.raw_body = form_ ? in.body : std::string_view();  // JSON: serialised with the model
    } else if (!m->is_string() || m->get_ref<const std::string&>().empty()) {
      return Error::bad_request("'model' must be a non-empty string.", "model");
    }
    req_.model = body_["model"].get<std::string>();
    if (form_ && req_.model.find(form_->boundary) != std::string::npos) {
      return Error::bad_request("the model name holds the form's boundary", "model");
    }
    req_.stream = false;  // the proxy's SSE machinery is not used: relay() says how to answer
    return check_fields();
  }

  std::string render(std::string&& body, bool) override { return std::move(body); }
  std::unique_ptr<Egress> egress(bool) override { return std::make_unique<MediaEgress>(); }
  bool cacheable() const override { return false; }

  Relay relay() const override {
    if (endpoint_ == Endpoint::AudioSpeech || stream_) return Relay::Bytes;
    if (is_transcript(endpoint_) && format_ != "json" && format_ != "verbose_json" &&
        format_ != "diarized_json" && !format_.empty()) {
      return Relay::Raw;
    }
    return Relay::Json;
  }

  std::optional<providers::Usage> ceiling() const override {
    providers::Usage u;
    u.present = true;
    if (is_image(endpoint_)) {
      u.images = n_;
      u.image_variant = variant_;
    } else if (is_transcript(endpoint_)) {
      u.audio_ms = audio_ms_;
    } else if (endpoint_ == Endpoint::AudioSpeech) {
      u.characters = characters_;
    } else if (endpoint_ == Endpoint::Rerank) {
      u.search_units = search_units_;
      u.input = input_tokens_;
    } else {
      u.input = input_tokens_;
    }
    return u;
  }

  bool meter(std::string_view answer, providers::Usage& usage) const override {
    const bool json_answer = relay() == Relay::Json;
    if (stream_) {
      usage = media::reported_usage(media::last_usage_event(answer));
    } else if (json_answer) {
      usage = media::reported_usage(answer);
    } else {
      usage = providers::Usage{};
    }
    usage.present = true;
    const bool tokens = usage.input > 0 || usage.output > 0;
    bool estimated = false;
    if (is_image(endpoint_)) {
      usage.images = n_;
      usage.image_variant = variant_;
    } else if (is_transcript(endpoint_)) {
      if (usage.audio_ms == 0 && !tokens) {  // text formats, or a provider without usage
        usage.audio_ms = audio_ms_;
        estimated = true;
      }
    } else if (endpoint_ == Endpoint::AudioSpeech) {
      usage.characters = characters_;
    } else if (endpoint_ == Endpoint::Rerank) {
      if (usage.search_units == 0 && !tokens) {
        usage.search_units = search_units_;
        estimated = true;
      }
    }
    return estimated;
  }

 private:
  std::optional<Error> read_form(const ClientInput& in) {
    auto parsed = multipart::parse(in.content_type, in.body);
    if (!parsed.form) return Error::bad_request(parsed.error);
    form_ = std::move(*parsed.form);
    req_.form = &*form_;
    req_.raw_body = in.body;
    body_ = json::object();
    for (const auto& p : form_->parts) {
      if (p.file || body_.contains(p.name)) continue;
      if (p.name == "n") {  // the governance reads it as a number
        auto v = small_int(p.value);
        if (!v) return Error::bad_request("'n' must be an integer.", "n");
        body_["n"] = *v;
        continue;
      }
      body_[p.name] = json(p.value);  // invalid UTF-8 is checked below, not thrown on
    }
    return std::nullopt;
  }

  std::optional<Error> missing(std::string_view field) const {
    return Error::bad_request(fmt::format("Missing required parameter: '{}'.", field),
                              std::string(field));
  }

  const multipart::Part* file_part(std::initializer_list<std::string_view> names) const {
    for (auto name : names) {
      const auto* p = form_->find(name);
      if (p && p->file) return p;
    }
    return nullptr;
  }

  std::optional<Error> string_field(std::string_view name, std::string& out) const {
    auto it = body_.find(name);
    if (it == body_.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) {
      return Error::bad_request(fmt::format("'{}' must be a string.", name), std::string(name));
    }
    out = it->get<std::string>();
    return std::nullopt;
  }

  std::optional<Error> check_fields() {
    for (const auto& [k, v] : body_.items()) {  // a form's fields are bytes: UTF-8 is not sure
      if (form_ && v.is_string()) {
        try {
          (void)v.dump();
        } catch (const json::exception&) {
          return Error::bad_request(fmt::format("'{}' is not valid UTF-8.", k), k);
        }
      }
    }
    if (auto e = string_field("response_format", format_)) return e;
    switch (endpoint_) {
      case Endpoint::AudioTranscriptions:
      case Endpoint::AudioTranslations: {
        const auto* f = file_part({"file"});
        if (!f) return missing("file");
        audio_ms_ = media::estimate_audio_ms(multipart::Form::content(*f, req_.raw_body), f->filename);
        std::string stream;
        if (auto e = string_field("stream", stream)) return e;
        stream_ = stream == "true" || stream == "True" || stream == "1";
        input_tokens_ = 0;
        return std::nullopt;
      }
      case Endpoint::AudioSpeech: {
        std::string input;
        if (auto e = string_field("input", input)) return e;
        if (input.empty()) return missing("input");
        characters_ = media::utf8_chars(input);
        return std::nullopt;
      }
      case Endpoint::ImagesGenerations:
      case Endpoint::ImagesEdits:
      case Endpoint::ImagesVariations: {
        if (endpoint_ == Endpoint::ImagesEdits && !file_part({"image", "image[]"})) {
          return missing("image");
        }
        if (endpoint_ == Endpoint::ImagesVariations && !file_part({"image"})) {
          return missing("image");
        }
        if (endpoint_ != Endpoint::ImagesVariations) {
          auto p = body_.find("prompt");
          if (p == body_.end() || !p->is_string() || p->get_ref<const std::string&>().empty()) {
            return missing("prompt");
          }
        }
        if (auto n = body_.find("n"); n != body_.end() && !n->is_null()) {
          if (!n->is_number_integer() || n->get<int64_t>() < 1 || n->get<int64_t>() > 10) {
            return Error::bad_request("'n' must be an integer between 1 and 10.", "n");
          }
          n_ = n->get<int64_t>();
        }
        std::string size = "1024x1024", quality;
        if (auto e = string_field("size", size)) return e;
        if (auto e = string_field("quality", quality)) return e;
        if (size == "auto") size = "1024x1024";
        variant_ = quality + "/" + size;
        input_tokens_ = 0;
        return std::nullopt;
      }
      case Endpoint::Moderations:
        if (auto in = body_.find("input"); in == body_.end() || in->is_null()) return missing("input");
        return std::nullopt;
      case Endpoint::Rerank: {
        auto q = body_.find("query");
        if (q == body_.end() || !q->is_string()) return missing("query");
        auto d = body_.find("documents");
        if (d == body_.end() || !d->is_array() || d->empty()) {
          return Error::bad_request("'documents' must be a non-empty array.", "documents");
        }
        // Cohere: one search unit per query over up to 100 documents.
        search_units_ = (static_cast<int64_t>(d->size()) + 99) / 100;
        return std::nullopt;
      }
      default:
        return std::nullopt;
    }
  }

  Endpoint endpoint_;
  json body_;                            // the JSON body, or the form's text fields
  std::optional<multipart::Form> form_;  // an upload's form
  std::string format_;                   // response_format
  bool stream_ = false;                  // a streamed transcript (stream=true)
  int64_t n_ = 1;                        // images asked for
  std::string variant_;                  // "<quality>/<size>"
  int64_t audio_ms_ = 0;                 // the upload's length (estimated unless WAV)
  int64_t characters_ = 0;               // speech input
  int64_t search_units_ = 1;             // rerank
  int64_t input_tokens_ = 0;             // estimate from the body size (moderations, rerank)
};

class MediaCodec final : public Codec {
 public:
  explicit MediaCodec(Endpoint e) : endpoint_(e) {}
  std::string_view name() const override { return "openai-media"; }
  bool reads_json() const override { return !is_upload(endpoint_); }

  std::variant<std::unique_ptr<Call>, Error> parse(json&& body,
                                                   const ClientInput& in) const override {
    auto call = std::make_unique<MediaCall>(endpoint_, std::move(body));
    if (auto e = call->read(in)) return std::move(*e);
    return std::unique_ptr<Call>(std::move(call));
  }

 private:
  Endpoint endpoint_;
};

}  // namespace

const Codec& media_codec(Endpoint endpoint) {
  static const MediaCodec codecs[] = {
      MediaCodec(Endpoint::AudioTranscriptions), MediaCodec(Endpoint::AudioTranslations),
      MediaCodec(Endpoint::AudioSpeech),         MediaCodec(Endpoint::ImagesGenerations),
      MediaCodec(Endpoint::ImagesEdits),         MediaCodec(Endpoint::ImagesVariations),
      MediaCodec(Endpoint::Moderations),         MediaCodec(Endpoint::Rerank),
  };
  size_t i = static_cast<size_t>(endpoint) - static_cast<size_t>(Endpoint::AudioTranscriptions);
  return codecs[i < std::size(codecs) ? i : 0];
}

}  // namespace tg::dialects
