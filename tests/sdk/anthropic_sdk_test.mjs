// End-to-end check with the official `@anthropic-ai/sdk` pointed at Tollgate's /v1/messages,
// routed to an OpenAI-format provider (the mock): the translation both ways, streaming and tools.
// Usage: node anthropic_sdk_test.mjs <base_url_without_v1> <api_key> <model>
import Anthropic from "@anthropic-ai/sdk";
import assert from "node:assert/strict";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new Anthropic({ baseURL, apiKey, maxRetries: 0 });

const msg = await client.messages.create({
  model,
  max_tokens: 200,
  system: "Be terse.",
  messages: [{ role: "user", content: "Hello from Claude's SDK" }],
});
assert.equal(msg.type, "message");
assert.equal(msg.role, "assistant");
assert.equal(msg.content[0].type, "text");
assert.equal(msg.content[0].text, "mock: Hello from Claude's SDK");
assert.equal(msg.stop_reason, "end_turn");
assert.ok(msg.usage.output_tokens > 0);

// Streaming, with the SDK's own event accumulation.
const stream = client.messages.stream({
  model,
  max_tokens: 200,
  messages: [{ role: "user", content: "stream via anthropic" }],
});
let text = "";
stream.on("text", (t) => (text += t));
const final = await stream.finalMessage();
assert.equal(text, "mock: stream via anthropic");
assert.equal(final.stop_reason, "end_turn");
assert.ok(final.usage.output_tokens > 0);

// Tool use round trip.
const tools = [{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }];
const call = await client.messages.create({
  model, max_tokens: 200, tools,
  messages: [{ role: "user", content: "Paris" }],
});
assert.equal(call.stop_reason, "tool_use");
const use = call.content.find((b) => b.type === "tool_use");
assert.equal(use.name, "get_weather");
assert.deepEqual(use.input, { echo: "Paris" });
const after = await client.messages.create({
  model, max_tokens: 200, tools,
  messages: [
    { role: "user", content: "Paris" },
    { role: "assistant", content: call.content },
    { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18C" }] },
  ],
});
assert.equal(after.content[0].text, "mock: tool said 18C");

// Errors in Anthropic's shape.
await assert.rejects(
  client.messages.create({ model: "no-such-model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
  (e) => e instanceof Anthropic.NotFoundError,
);
const count = await client.messages.countTokens({ model, messages: [{ role: "user", content: "count these tokens please" }] });
assert.ok(count.input_tokens > 0);
console.log("anthropic SDK: all checks passed");
