// SigV4 against the test vectors of provider-formats.md 4.6 (AWS's IAM example and a Converse
// request signed by botocore).

#include <gtest/gtest.h>

#include "../../src/providers/bedrock/sigv4.hpp"

namespace tg::providers::bedrock::sigv4 {
namespace {

constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(BedrockSigV4, Sha256AndHmacPrimitives) {
  EXPECT_EQ(sha256_hex(""), kEmptyHash);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(BedrockSigV4, AwsDocumentationIamVector) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.query = "Version=2010-05-08&Action=ListUsers";  // sorted by the canonical query
  r.headers = {{"Host", "iam.amazonaws.com"},
               {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_hash = kEmptyHash;
  auto s = sign(r, {"AKIDEXAMPLE", kSecret, "us-east-1", "iam", "20150830T123600Z"});
  EXPECT_EQ(s.canonical_request,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n" +
                std::string(kEmptyHash));
  EXPECT_EQ(sha256_hex(s.canonical_request),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(to_hex(s.signing_key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(s.signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  EXPECT_EQ(s.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(BedrockSigV4, BotocoreConverseVector) {
  const std::string body =
      R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":256}})";
  const std::string hash = sha256_hex(body);
  EXPECT_EQ(hash, "d8695502972bd4d482308b656a524b7a7efcebba591a06801fadba6b39700dd1");
  Request r;
  r.method = "POST";
  r.path = "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse";
  r.headers = {{"content-type", "application/json"},
               {"host", "bedrock-runtime.us-east-1.amazonaws.com"},
               {"x-amz-date", "20250102T030405Z"}};
  r.payload_hash = hash;
  auto s = sign(r, {"AKIDEXAMPLE", kSecret, "us-east-1", "bedrock", "20250102T030405Z"});
  // The path is encoded once more: ':' was %3A on the wire and is %253A in the canonical URI.
  EXPECT_NE(s.canonical_request.find("\n/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse\n"),
            std::string::npos)
      << s.canonical_request;
  const std::string sts = s.string_to_sign;
  EXPECT_EQ(sts.substr(sts.rfind('\n') + 1),
            "e5f88a9cc9053680919527f56f03425fa043a2ebcb72ef30cad8f688b4520fa1");
  EXPECT_EQ(sts.substr(0, sts.rfind('\n')),
            "AWS4-HMAC-SHA256\n20250102T030405Z\n20250102/us-east-1/bedrock/aws4_request");
  EXPECT_EQ(to_hex(s.signing_key), "e21c623e4635aedbfb69d823d2707c3757772dc1c9e96594ba340ac8e635ce57");
  EXPECT_EQ(s.signature, "3c5bef3264e2041c663ac42b15ae1f952de750d37b10b4f712dde8387181bc92");
}

TEST(BedrockSigV4, EncodingRules) {
  EXPECT_EQ(uri_encode("anthropic.claude-3-5-sonnet-20240620-v1:0", false),
            "anthropic.claude-3-5-sonnet-20240620-v1%3A0");
  EXPECT_EQ(uri_encode("arn:aws:bedrock:us-east-1:123:inference-profile/us.x", false),
            "arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x");
  EXPECT_EQ(uri_encode("a b~_.-/é", true), "a%20b~_.-/%C3%A9");
  EXPECT_EQ(canonical_uri(""), "/");
  EXPECT_EQ(canonical_uri("/model/a%3A0/converse"), "/model/a%253A0/converse");
  EXPECT_EQ(uri_decode("anthropic.claude-v1%3A0%2Fx%zz+"), "anthropic.claude-v1:0/x%zz+");
  EXPECT_EQ(canonical_query("b=2&a=%7e1&a=0&c"), "a=0&a=~1&b=2&c=");
}

TEST(BedrockSigV4, CanonicalHeadersTrimCollapseAndJoin) {
  Request r;
  r.method = "POST";
  r.path = "/x";
  r.headers = {{"X-Multi", " a   b "}, {"Host", "h"}, {"x-multi", "c"}, {"X-Amz-Date", "20250102T030405Z"}};
  r.payload_hash = kEmptyHash;
  auto s = sign(r, {"AK", "secret", "eu-west-1", "bedrock", "20250102T030405Z"});
  EXPECT_EQ(s.signed_headers, "host;x-amz-date;x-multi");
  EXPECT_NE(s.canonical_request.find("\nx-multi:a b,c\n"), std::string::npos) << s.canonical_request;
}

TEST(BedrockSigV4, AmzDateAndAuthorizationParsing) {
  using namespace std::chrono;
  auto t = sys_days{year{2025} / 1 / 2} + hours{3} + minutes{4} + seconds{5};
  EXPECT_EQ(amz_date(t), "20250102T030405Z");
  auto a = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/bedrock/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date, Signature=abc123");
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(a.date_stamp, "20250102");
  EXPECT_EQ(a.region, "us-east-1");
  EXPECT_EQ(a.service, "bedrock");
  EXPECT_EQ(a.signed_headers, (std::vector<std::string>{"content-type", "host", "x-amz-date"}));
  EXPECT_EQ(a.signature, "abc123");
  EXPECT_FALSE(parse_authorization("Bearer abc").ok);
  EXPECT_FALSE(parse_authorization("AWS4-HMAC-SHA256 Credential=AK/2025/us/bedrock, Signature=x").ok);
}

}  // namespace
}  // namespace tg::providers::bedrock::sigv4
