// Responses request -> canonical chat request (tg::dialects::responses::parse_request), against
// golden fixtures, plus the 400s for shapes and features a translated target cannot take.

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "responses_test_util.hpp"

namespace tg::dialects::responses {
namespace {

using namespace testing;

Request parse_ok(const json& body, const json& history, std::vector<std::string>* dropped) {
  auto r = parse_request(body, history, {.dropped = dropped, .random = counter()});
  if (auto* e = std::get_if<Error>(&r)) {
    ADD_FAILURE() << e->message << " (param " << e->param.value_or("") << ")";
    return {};
  }
  return std::get<Request>(std::move(r));
}

Error parse_error(const json& body, const json& history = json::array()) {
  auto r = parse_request(body, history);
  EXPECT_TRUE(std::holds_alternative<Error>(r)) << body.dump();
  return std::holds_alternative<Error>(r) ? std::get<Error>(r) : Error{};
}

// The request fields a Response repeats, as the Response shows them: the echo over OpenAI's
// defaults (the echo itself holds only what the request set).
json echoed(const json& echo) {
  ResponseInfo info;
  info.echo = echo;
  json response = build_response("{}", info);
  for (const char* own : {"id", "object", "created_at", "model", "previous_response_id", "store",
                          "status", "output", "incomplete_details", "error", "usage"}) {
    response.erase(own);
  }
  return response;
}

// Every golden request fixture: {request, history?} -> {chat, input_items, echo (as a Response
// shows it), dropped}.
class GoldenRequest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenRequest, TranslatesAsTheFixtureSays) {
  const std::string name = GetParam();
  json f = load(name);
  std::vector<std::string> dropped;
  json history = f.contains("history") ? f["history"] : json::array();
  Request r = parse_ok(f["request"], history, &dropped);
  std::sort(dropped.begin(), dropped.end());
  expect_golden(name, f, "chat", r.chat);
  expect_golden(name, f, "input_items", r.input_items);
  expect_golden(name, f, "echo", echoed(r.echo));
  expect_golden(name, f, "dropped", dropped);
  // The fields the caller reads off the struct follow the request.
  EXPECT_EQ(r.model, f["request"]["model"]);
  EXPECT_EQ(r.stream, f["request"].value("stream", false));
  EXPECT_EQ(r.store, f["request"].value("store", true));
  EXPECT_EQ(r.previous_response_id, f["request"].value("previous_response_id", ""));
  EXPECT_EQ(r.chat["model"], r.model);
  EXPECT_EQ(r.chat.contains("stream_options"), r.stream) << "streamed chat always asks for usage";
}

INSTANTIATE_TEST_SUITE_P(
    Responses, GoldenRequest,
    ::testing::Values("request_string_input.json", "request_items.json",
                      "request_multimodal.json", "request_tools.json",
                      "request_allowed_tools.json", "request_tool_round_trip.json",
                      "request_json_schema.json", "request_reasoning.json",
                      "request_history.json", "request_custom_tool.json",
                      "request_codex_unknown_model.json", "request_codex_known_model.json",
                      "request_codex_history.json"),
    [](const auto& info) {
      std::string n = info.param.substr(8, info.param.size() - 8 - 5);  // request_*.json
      std::replace(n.begin(), n.end(), '.', '_');
      return n;
    });

TEST(ResponsesRequest, ToolRoundTripKeepsCallIdsAndGroupsCalls) {
  json f = load("request_tool_round_trip.json");
  Request r = parse_ok(f["request"], json::array(), nullptr);
  const json& m = r.chat["messages"];
  ASSERT_EQ(m.size(), 5u) << m.dump();
  EXPECT_EQ(m[1]["role"], "assistant");
  ASSERT_EQ(m[1]["tool_calls"].size(), 2u) << "consecutive calls are one assistant turn";
  EXPECT_EQ(m[1]["tool_calls"][0]["id"], "call_paris");
  EXPECT_EQ(m[1]["reasoning_content"], "Need two lookups.");
  EXPECT_EQ(m[1]["thinking_blocks"][0]["signature"], "EqQBCkYIBxgC")
      << "signed thinking comes back for Claude";
  EXPECT_EQ(m[2], json({{"role", "tool"}, {"tool_call_id", "call_paris"}, {"content", "18C, sunny"}}));
  EXPECT_EQ(m[3]["tool_call_id"], "call_rome");
  EXPECT_EQ(m[4]["role"], "user") << "a tool's image follows as user content";
}

TEST(ResponsesRequest, CustomToolsBecomeOneStringArgumentFunctions) {
  json f = load("request_custom_tool.json");
  std::vector<std::string> dropped;
  Request r = parse_ok(f["request"], json::array(), &dropped);
  const json& tool = r.chat["tools"][0]["function"];
  EXPECT_EQ(tool["name"], "apply_patch");
  EXPECT_EQ(tool["parameters"]["required"], json::array({"input"}));
  EXPECT_NE(tool["description"].get<std::string>().find("lark grammar"), std::string::npos);
  EXPECT_EQ(dropped, std::vector<std::string>{"tools[0].format"}) << "the grammar is not enforced";
  const json& m = r.chat["messages"];
  ASSERT_EQ(m.size(), 3u) << "the empty assistant message joins the call: " << m.dump();
  EXPECT_EQ(m[1]["content"], nullptr);
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["arguments"],
            json({{"input", "*** Begin Patch\n*** End Patch"}}).dump());
  EXPECT_EQ(m[2], json({{"role", "tool"}, {"tool_call_id", "call_patch"}, {"content", "Done!"}}));
  EXPECT_FALSE(refuse_builtin_tools(f["request"]).has_value());
}

TEST(ResponsesRequest, EmptyAssistantMessageAloneIsLeftOut) {
  json input = json::array({json::object({{"role", "user"}, {"content", "a"}}),
                            json::object({{"role", "assistant"}, {"content", ""}}),
                            json::object({{"role", "user"}, {"content", "b"}})});
  Request r = parse_ok({{"model", "m"}, {"input", input}}, json::array(), nullptr);
  EXPECT_EQ(r.chat["messages"].size(), 2u) << r.chat.dump();
  EXPECT_EQ(r.input_items.size(), 3u) << "but it is still recorded";
}

TEST(ResponsesRequest, HistoryComesFirstWithoutItsInstructions) {
  json f = load("request_history.json");
  std::vector<std::string> dropped;
  Request r = parse_ok(f["request"], f["history"], &dropped);
  const json& m = r.chat["messages"];
  EXPECT_EQ(m[0], json({{"role", "system"}, {"content", "New instructions."}}));
  EXPECT_EQ(m[1]["content"], "Weather today?");
  EXPECT_EQ(m.back()["content"], "And tomorrow?");
  EXPECT_NE(std::find(dropped.begin(), dropped.end(), "history.web_search_call"), dropped.end());
  // The referenced item is recorded as itself, not as a reference.
  EXPECT_EQ(r.input_items[0]["id"], "msg_old_answer");
  EXPECT_EQ(r.input_items[0]["role"], "assistant");
}

TEST(ResponsesRequest, ReferencesResolveFromTheCallersLookup) {
  // The AI SDK with store: true: earlier answers come back as bare references, no
  // previous_response_id.
  json body = {{"model", "m"},
               {"input", json::array({json::object({{"role", "user"}, {"content", "Hi"}}),
                                      json::object({{"type", "item_reference"}, {"id", "msg_a"}}),
                                      json::object({{"type", "item_reference"}, {"id", "msg_a"}}),
                                      json::object({{"role", "user"}, {"content", "More"}})})}};
  EXPECT_EQ(referenced_item_ids(body), std::vector<std::string>{"msg_a"});
  EXPECT_TRUE(referenced_item_ids({{"input", "text"}}).empty());
  Error missing = parse_error(body);
  EXPECT_EQ(missing.param.value_or(""), "input[1].id");
  json found = json::array({json::object({{"type", "message"},
                                          {"id", "msg_a"},
                                          {"role", "assistant"},
                                          {"content", json::array({json::object(
                                              {{"type", "output_text"}, {"text", "Hello!"}})})}})});
  auto r = parse_request(body, json::array(), {.references = &found});
  ASSERT_TRUE(std::holds_alternative<Request>(r)) << std::get<Error>(r).message;
  EXPECT_EQ(std::get<Request>(r).chat["messages"][1],
            json({{"role", "assistant"}, {"content", "Hello!"}}));
}

TEST(ResponsesRequest, InputItemsGetIdsAndOpenAiShape) {
  Request r = parse_ok({{"model", "m"}, {"input", "hi"}}, json::array(), nullptr);
  ASSERT_EQ(r.input_items.size(), 1u);
  const json& item = r.input_items[0];
  EXPECT_EQ(item["type"], "message");
  EXPECT_EQ(item["role"], "user");
  EXPECT_EQ(item["status"], "completed");
  EXPECT_EQ(item["content"], json::array({{{"type", "input_text"}, {"text", "hi"}}}));
  std::string id = item["id"];
  EXPECT_EQ(id.rfind("msg_", 0), 0u);
  EXPECT_EQ(id.size(), 4u + 48u);
  // Without a random source the ids differ from call to call.
  EXPECT_NE(new_id("resp_"), new_id("resp_"));
}

TEST(ResponsesRequest, BuiltInToolsAreRefusedByName) {
  for (std::string type : {"web_search", "web_search_preview", "file_search", "computer_use_preview",
                           "code_interpreter", "image_generation", "mcp", "local_shell", "shell",
                           "apply_patch", "tool_search"}) {
    json body = {{"model", "m"},
                 {"input", "x"},
                 {"tools", json::array({{{"type", "function"}, {"name", "f"}}, {{"type", type}}})}};
    Error e = parse_error(body);
    EXPECT_EQ(e.status, 400) << type;
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.param.value_or(""), "tools[1].type");
    EXPECT_NE(e.message.find("'" + type + "'"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("natively"), std::string::npos) << e.message;
    auto direct = refuse_builtin_tools(body);
    ASSERT_TRUE(direct.has_value());
    EXPECT_EQ(direct->message, e.message);
  }
  EXPECT_FALSE(refuse_builtin_tools({{"tools", json::array({{{"type", "function"}, {"name", "f"}}})}}));
  EXPECT_FALSE(refuse_builtin_tools({{"model", "m"}}));
  auto tc = refuse_builtin_tools({{"tool_choice", {{"type", "web_search_preview"}}}});
  ASSERT_TRUE(tc.has_value());
  EXPECT_EQ(tc->param.value_or(""), "tool_choice.type");
}

TEST(ResponsesRequest, NativeTargetsKeepWhatChatCannotCarry) {
  json body = {
      {"model", "gpt-5"},
      {"background", true},
      {"tools", json::array({json::object({{"type", "web_search"}}),
                             json::object({{"type", "function"}, {"name", "f"}})})},
      {"tool_choice", {{"type", "web_search"}}},
      {"input",
       json::array({json::object({{"role", "user"},
                                  {"content", json::array({json::object({{"type", "input_text"}, {"text", "Look"}}),
                                                           json::object({{"type", "input_image"}, {"file_id", "file-1"}})})}}),
                    json::object({{"type", "web_search_call"}, {"id", "ws_1"}, {"status", "completed"}}),
                    json::object({{"role", "user"}, {"content", "And?"}})})}};
  EXPECT_TRUE(std::holds_alternative<Error>(parse_request(body, json::array())));
  std::vector<std::string> dropped;
  auto r = parse_request(body, json::array(), {.dropped = &dropped, .native_target = true});
  ASSERT_TRUE(std::holds_alternative<Request>(r)) << std::get<Error>(r).message;
  const Request& req = std::get<Request>(r);
  EXPECT_EQ(req.input_items.size(), 3u) << "every input item is recorded";
  EXPECT_EQ(req.input_items[1]["id"], "ws_1");
  EXPECT_EQ(req.chat["messages"].size(), 2u) << req.chat.dump();
  EXPECT_EQ(req.chat["messages"][0]["content"], "Look");
  EXPECT_EQ(req.chat["tools"].size(), 1u);
  EXPECT_FALSE(req.chat.contains("tool_choice"));
  EXPECT_EQ(req.echo["tools"], body["tools"]);
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<std::string>{"input.web_search_call", "input_image.file_id",
                                               "tool_choice", "tools.web_search"}));
}

TEST(ResponsesRequest, BadShapesAre400sNamingTheField) {
  struct Case {
    json body;
    std::string param;
    std::string message;  // a fragment of it
  };
  auto body = [](json extra) {
    json b = {{"model", "m"}, {"input", "hi"}};
    for (auto& [k, v] : extra.items()) b[k] = v;
    return b;
  };
  json no_model = {{"input", "hi"}};
  std::vector<Case> cases = {
      {no_model, "model", "Missing required parameter: 'model'."},
      {body({{"model", 5}}), "model", "Invalid type for 'model': expected a string, but got number instead."},
      {body({{"input", {{"a", 1}}}}), "input", "expected one of a string or array of input items, but got object"},
      {{{"model", "m"}}, "input", "Missing required parameter: 'input'."},
      {body({{"input", json::array({{{"role", "tool"}, {"content", "x"}}})}}), "input[0].role",
       "Invalid value: 'tool'. Supported values are: 'user', 'assistant', 'system', and 'developer'."},
      {body({{"input", json::array({{{"role", "user"}}})}}), "input[0].content", "Missing required parameter"},
      {body({{"input", json::array({"hi"})}}), "input[0]", "expected an object, but got string"},
      {body({{"input", json::array({{{"role", "user"}, {"content", json::array({{{"type", "input_audio"}}})}}})}}),
       "input[0].content[0].type", "Invalid value: 'input_audio'."},
      {body({{"input", json::array({{{"role", "user"}, {"content", json::array({{{"type", "input_image"}, {"file_id", "file-1"}}})}}})}}),
       "input[0].content[0].file_id", "no Files API"},
      {body({{"input", json::array({{{"role", "user"}, {"content", json::array({{{"type", "input_file"}, {"file_id", "file-1"}}})}}})}}),
       "input[0].content[0].file_id", "no Files API"},
      {body({{"input", json::array({{{"type", "function_call"}, {"call_id", "c"}, {"name", "f"}}})}}),
       "input[0].arguments", "Missing required parameter: 'input[0].arguments'."},
      {body({{"input", json::array({{{"type", "function_call_output"}, {"call_id", "c"}}})}}),
       "input[0].output", "Missing required parameter"},
      {body({{"input", json::array({{{"type", "computer_call"}, {"id", "x"}}})}}), "input[0].type",
       "'computer_call'"},
      {body({{"input", json::array({{{"type", "item_reference"}, {"id", "msg_gone"}}})}}), "input[0].id",
       "Item with id 'msg_gone' not found."},
      {body({{"stream", "yes"}}), "stream", "expected a boolean"},
      {body({{"store", 1}}), "store", "expected a boolean"},
      {body({{"instructions", json::array()}}), "instructions", "expected a string"},
      {body({{"tools", {{"type", "function"}}}}), "tools", "expected an array"},
      {body({{"tools", json::array({{{"type", "function"}}})}}), "tools[0].name", "Missing required parameter"},
      {body({{"tool_choice", "sometimes"}}), "tool_choice", "Invalid value: 'sometimes'."},
      {body({{"max_output_tokens", 0}}), "max_output_tokens", "integer below minimum value"},
      {body({{"max_output_tokens", 1.5}}), "max_output_tokens", "expected an integer"},
      {body({{"temperature", "hot"}}), "temperature", "expected a number"},
      {body({{"text", {{"format", {{"type", "json_schema"}, {"name", "x"}}}}}}), "text.format.schema",
       "Missing required parameter"},
      {body({{"text", {{"format", {{"type", "yaml"}}}}}}), "text.format.type", "Invalid value: 'yaml'."},
      {body({{"reasoning", {{"effort", 3}}}}), "reasoning.effort", "expected a string"},
      {body({{"background", true}}), "background", "not supported"},
      {body({{"conversation", "conv_1"}}), "conversation", "previous_response_id"},
      {body({{"prompt", {{"id", "pmpt_1"}}}}), "prompt", "not supported"},
  };
  for (const auto& c : cases) {
    Error e = parse_error(c.body);
    EXPECT_EQ(e.status, 400) << c.body.dump();
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.param.value_or(""), c.param) << c.body.dump() << ": " << e.message;
    EXPECT_NE(e.message.find(c.message), std::string::npos)
        << "message: " << e.message << "\nwanted:  " << c.message;
  }
  Error e = parse_error(json::array());
  EXPECT_EQ(e.status, 400);
}

// Codex 0.171 with a model name it does not know: function tools, a namespace of five functions
// and web_search. Only web_search needs a native target (Codex omits it with web_search =
// "disabled" in config.toml).
TEST(ResponsesRequest, CodexWebSearchIsRefusedByNameItsNamespaceIsNot) {
  json body = load("request_codex_unknown_model.json")["request"];
  size_t at = body["tools"].size();
  body["tools"].push_back({{"type", "web_search"}, {"external_web_access", false}});
  Error e = parse_error(body);
  EXPECT_EQ(e.param.value_or(""), fmt::format("tools[{}].type", at)) << e.message;
  EXPECT_NE(e.message.find("'web_search'"), std::string::npos) << e.message;
  auto direct = refuse_builtin_tools(body);
  ASSERT_TRUE(direct.has_value());
  EXPECT_EQ(direct->param, e.param);
  body["tools"].erase(at);
  EXPECT_FALSE(refuse_builtin_tools(body).has_value()) << refuse_builtin_tools(body)->message;
  // A built-in tool inside a namespace is refused too, named by its place.
  body["tools"][4]["tools"].push_back({{"type", "file_search"}});
  Error inner = parse_error(body);
  EXPECT_EQ(inner.param.value_or(""), "tools[4].tools[5].type");
  EXPECT_NE(inner.message.find("'file_search'"), std::string::npos);
}

TEST(ResponsesRequest, NamespacedToolsGetFlatNamesAndMapBack) {
  json f = load("request_codex_unknown_model.json");
  Request r = parse_ok(f["request"], json::array(), nullptr);
  const json& tools = r.chat["tools"];
  auto it = std::find_if(tools.begin(), tools.end(), [](const json& t) {
    return t["function"]["name"] == "multi_agent_v1__spawn_agent";
  });
  ASSERT_NE(it, tools.end()) << tools.dump();
  EXPECT_EQ((*it)["function"]["description"].get<std::string>().rfind(
                "Tools for spawning and managing sub-agents.\n\n", 0),
            0u)
      << "the namespace's description comes with its functions";
  ASSERT_TRUE(r.tools.count("multi_agent_v1__spawn_agent"));
  EXPECT_EQ(r.tools.at("multi_agent_v1__spawn_agent").name, "spawn_agent");
  EXPECT_EQ(r.tools.at("multi_agent_v1__spawn_agent").ns, "multi_agent_v1");
  EXPECT_EQ(r.tools.at("exec_command").ns, "");
  EXPECT_EQ(r.tools.size(), tools.size());
  EXPECT_EQ(r.echo["tools"], f["request"]["tools"]) << "the Response repeats the tools as sent";
}

// With the body's text, the tools are echoed as the client wrote them (compacted, in its key
// order), not copied as a document; a Response still shows the same tools, on one line.
TEST(ResponsesRequest, ToolsAreEchoedAsWrittenWhenTheTextIsGiven) {
  const std::string text = R"({"model": "m", "input": "hi",
    "tools": [ {"type": "function", "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                "description": "Weather.\nBy city."} ]})";
  const json body = json::parse(text);
  auto r = parse_request(body, json::array(), {.raw_body = text});
  ASSERT_TRUE(std::holds_alternative<Request>(r));
  const Request& req = std::get<Request>(r);
  EXPECT_FALSE(req.echo.contains("tools")) << "no copy of the document";
  EXPECT_EQ(req.echo_tools,
            R"([{"type":"function","name":"get_weather","parameters":{"type":"object",)"
            R"("properties":{"city":{"type":"string"}}},"description":"Weather.\nBy city."}])");
  ResponseInfo info;
  info.echo = req.echo;
  info.echo_tools = req.echo_tools;
  const std::string response = build_response_text("{}", info);
  EXPECT_EQ(response.find('\n'), std::string::npos) << "one line, fit for an SSE data line";
  EXPECT_EQ(json::parse(response)["tools"], body["tools"]);
  EXPECT_EQ(echoed(req.echo)["tools"], json::array()) << "the echo itself holds no tools";

  // An unknown field and a number past int64 (2^63) are repeated as sent.
  const std::string odd =
      R"({"model":"m","input":"hi","tools":[{"type":"function","name":"f","x_vendor":9223372036854775808}]})";
  auto o = parse_request(json::parse(odd), json::array(), {.raw_body = odd});
  ASSERT_TRUE(std::holds_alternative<Request>(o));
  ResponseInfo odd_info;
  odd_info.echo_tools = std::get<Request>(o).echo_tools;
  EXPECT_EQ(json::parse(build_response_text("{}", odd_info))["tools"], json::parse(odd)["tools"]);
  EXPECT_NE(odd_info.echo_tools.find("9223372036854775808"), std::string::npos);

  // Without the text, or when the text's "tools" may not be the document's (written twice, or a
  // key spelled with an escape), the document is echoed.
  for (const std::string& other :
       {std::string(R"({"model":"m","input":"hi","tools":[],"tools":[{"type":"function","name":"f"}]})"),
        std::string(R"({"model":"m","input":"hi","tool\u0073":[{"type":"function","name":"f"}]})")}) {
    const json b = json::parse(other);
    auto o = parse_request(b, json::array(), {.raw_body = other});
    ASSERT_TRUE(std::holds_alternative<Request>(o)) << other;
    EXPECT_TRUE(std::get<Request>(o).echo_tools.empty()) << other;
    EXPECT_EQ(echoed(std::get<Request>(o).echo)["tools"], b["tools"]) << other;
  }
}

TEST(ResponsesRequest, AdditionalToolsItemsJoinTheTools) {
  json f = load("request_codex_known_model.json");
  std::vector<std::string> dropped;
  Request r = parse_ok(f["request"], json::array(), &dropped);
  ASSERT_EQ(r.chat["messages"].size(), 6u) << "the item is no message: " << r.chat["messages"].dump();
  EXPECT_EQ(r.chat["tools"].size(), 12u);
  const ToolRef& exec = r.tools.at("functions__exec");
  EXPECT_EQ(exec.name, "exec");
  EXPECT_EQ(exec.ns, "functions");
  EXPECT_TRUE(exec.custom);
  EXPECT_EQ(r.tools.at("clock__sleep").name, "sleep");
  EXPECT_EQ(r.input_items[0]["type"], "additional_tools") << "kept for the store as sent";
  EXPECT_EQ(r.input_items[0]["id"], f["request"]["input"][0]["id"]);
  EXPECT_EQ(echoed(r.echo)["tools"], json::array()) << "no top-level tools: the Response shows none";
  EXPECT_NE(std::find(dropped.begin(), dropped.end(), "reasoning.context"), dropped.end());
  // A stored conversation's additional tools stay offered on the next turn; declared again they
  // are offered once.
  json next = {{"model", "m"},
               {"input", json::array({f["request"]["input"][0], json::object({{"role", "user"}, {"content", "Again"}})})}};
  Request again = parse_ok(next, r.input_items, nullptr);
  EXPECT_EQ(again.chat["tools"].size(), 12u) << again.chat["tools"].dump();
  // Built-in tools inside the item are refused by name, like top-level ones.
  json body = f["request"];
  body["input"][0]["tools"].push_back({{"type", "web_search"}});
  Error e = parse_error(body);
  EXPECT_EQ(e.param.value_or(""), "input[0].tools[3].type");
  EXPECT_NE(e.message.find("'web_search'"), std::string::npos);
  EXPECT_EQ(refuse_builtin_tools(body).value_or(Error{}).param, e.param);
}

TEST(ResponsesRequest, NamespacedCallsInTheConversationMapForward) {
  json ns = {{"type", "namespace"},
             {"name", "multi_agent_v1"},
             {"description", "Agents."},
             {"tools", json::array({json::object({{"type", "function"}, {"name", "spawn_agent"}}),
                                    json::object({{"type", "custom"}, {"name", "exec"}})})}};
  json input = json::array(
      {json::object({{"role", "user"}, {"content", "Go"}}),
       json::object({{"type", "function_call"}, {"id", "fc_1"}, {"call_id", "c1"}, {"name", "spawn_agent"},
                     {"namespace", "multi_agent_v1"}, {"arguments", "{}"}}),
       json::object({{"type", "function_call_output"}, {"call_id", "c1"}, {"output", "ok"}}),
       json::object({{"type", "custom_tool_call"}, {"call_id", "c2"}, {"name", "exec"},
                     {"namespace", "multi_agent_v1"}, {"input", "x"}}),
       json::object({{"type", "custom_tool_call_output"}, {"call_id", "c2"}, {"output", "ok"}}),
       json::object({{"type", "function_call"}, {"call_id", "c3"}, {"name", "gone"},
                     {"namespace", "old tools"}, {"arguments", "{}"}}),
       json::object({{"type", "function_call_output"}, {"call_id", "c3"}, {"output", "ok"}})});
  Request r = parse_ok({{"model", "m"}, {"input", input}, {"tools", json::array({ns})}}, json::array(), nullptr);
  const json& m = r.chat["messages"];
  ASSERT_EQ(m.size(), 7u) << m.dump();
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["name"], "multi_agent_v1__spawn_agent");
  EXPECT_EQ(m[3]["tool_calls"][0]["function"]["name"], "multi_agent_v1__exec");
  EXPECT_EQ(m[3]["tool_calls"][0]["function"]["arguments"], json({{"input", "x"}}).dump());
  // A tool no longer offered: its flat name all the same, valid for every provider.
  EXPECT_EQ(m[5]["tool_calls"][0]["function"]["name"], flat_tool_name("old tools", "gone"));
  EXPECT_EQ(r.input_items[1]["namespace"], "multi_agent_v1") << "stored as sent";
  Error e = parse_error({{"model", "m"},
                         {"input", json::array({json::object({{"type", "function_call"}, {"call_id", "c"},
                                                              {"name", "f"}, {"namespace", 3},
                                                              {"arguments", "{}"}})})}});
  EXPECT_EQ(e.param.value_or(""), "input[0].namespace");
}

TEST(ResponsesRequest, FlatToolNamesFitEveryProviderAndNeverCollide) {
  auto valid = [](const std::string& n) {
    if (n.empty() || n.size() > 64) return false;
    if (!(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
  };
  EXPECT_EQ(flat_tool_name("clock", "sleep"), "clock__sleep");
  std::string long_ns(80, 'n');
  std::vector<std::string> names = {flat_tool_name(long_ns, "a"), flat_tool_name(long_ns, "b"),
                                    flat_tool_name("mcp.server/x", "tool"),
                                    flat_tool_name("9lives", "cat"), flat_tool_name("ns", "é"),
                                    flat_tool_name("clock", "sleep", 1)};
  for (const auto& n : names) EXPECT_TRUE(valid(n)) << n;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end()) << "distinct inputs, distinct names";
  EXPECT_EQ(flat_tool_name(long_ns, "a"), flat_tool_name(long_ns, "a")) << "stable";
  // A plain tool already named like the flat name keeps it; the namespaced one moves aside.
  json tools = json::array(
      {json::object({{"type", "function"}, {"name", "clock__sleep"}}),
       json::object({{"type", "namespace"}, {"name", "clock"}, {"description", ""},
                     {"tools", json::array({json::object({{"type", "function"}, {"name", "sleep"}})})}})});
  Request r = parse_ok({{"model", "m"}, {"input", "x"}, {"tools", tools}}, json::array(), nullptr);
  ASSERT_EQ(r.chat["tools"].size(), 2u);
  EXPECT_EQ(r.chat["tools"][0]["function"]["name"], "clock__sleep");
  std::string moved = r.chat["tools"][1]["function"]["name"];
  EXPECT_NE(moved, "clock__sleep");
  EXPECT_TRUE(valid(moved)) << moved;
  EXPECT_EQ(r.tools.at(moved).ns, "clock");
  EXPECT_EQ(r.tools.at("clock__sleep").ns, "");
}

TEST(ResponsesRequest, DeepButValidInputStaysBounded) {
  // Many items, each converted in one pass: no recursion per item (the caller bounds depth).
  json input = json::array();
  for (int i = 0; i < 5000; ++i) {
    input.push_back({{"type", "function_call"}, {"call_id", "c" + std::to_string(i)}, {"name", "f"}, {"arguments", "{}"}});
    input.push_back({{"type", "function_call_output"}, {"call_id", "c" + std::to_string(i)}, {"output", "ok"}});
  }
  Request r = parse_ok({{"model", "m"}, {"input", input}}, json::array(), nullptr);
  EXPECT_EQ(r.chat["messages"].size(), 10000u);
  EXPECT_EQ(r.input_items.size(), 10000u);
}

}  // namespace
}  // namespace tg::dialects::responses
