// End-to-end check with the official `openai` npm package pointed at Tollgate.
// Usage: node openai_sdk_test.mjs <base_url> <api_key> <model>
// Exits non-zero with a message on the first failed expectation.
import OpenAI from "openai";
import assert from "node:assert/strict";

const [baseURL, apiKey, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

// Non-streamed chat: the content made it through intact.
const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Hello from the SDK ✓" }],
});
assert.equal(chat.choices[0].message.content, "mock: Hello from the SDK ✓");
assert.ok(chat.usage.total_tokens > 0, "usage reported");

// Streamed chat, with usage asked for.
const stream = await client.chat.completions.create({
  model,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: "stream this please" }],
});
let text = "";
let usage = null;
let chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  text += chunk.choices[0]?.delta?.content ?? "";
}
assert.equal(text, "mock: stream this please");
assert.ok(chunks > 3, `several chunks (${chunks})`);
assert.ok(usage && usage.completion_tokens > 0, "usage chunk in the stream");

// Tool calls survive the round trip.
const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
const call = await client.chat.completions.create({
  model,
  tools,
  messages: [{ role: "user", content: "weather in Paris" }],
});
const tc = call.choices[0].message.tool_calls[0];
assert.equal(tc.function.name, "get_weather");
assert.deepEqual(JSON.parse(tc.function.arguments), { echo: "weather in Paris" });

// Embeddings, models, legacy completions.
const emb = await client.embeddings.create({ model: "mock/text-embedding-3-small", input: ["a", "b"] });
assert.equal(emb.data.length, 2);
const models = await client.models.list();
assert.ok(models.data.some((m) => m.id === model), "configured model listed");
const legacy = await client.completions.create({ model: "mock/gpt-3.5-turbo-instruct", prompt: "Hi" });
assert.equal(legacy.choices[0].text, "mock: Hi");

// Errors surface as the SDK's typed errors.
await assert.rejects(
  client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }),
  (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found",
);
const bad = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 });
await assert.rejects(
  bad.chat.completions.create({ model, messages: [{ role: "user", content: "x" }] }),
  (e) => e instanceof OpenAI.AuthenticationError,
);
console.log("openai-node SDK: all checks passed");
