// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) with its default provider, `openai(model)`, which
// speaks the Responses API, pointed at Tollgate.
// Usage: node ai_sdk_test.mjs <base_url> <api_key> <model>
// Exits non-zero with a message on the first failed expectation.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import assert from "node:assert/strict";

const [baseURL, apiKey, modelName] = process.argv.slice(2);
const openai = createOpenAI({ baseURL, apiKey });
const model = openai(modelName);
const opts = { model, maxRetries: 0 };

// generateText.
const g = await generateText({ ...opts, system: "Be brief.", prompt: "Hello from the AI SDK ✓" });
assert.equal(g.text, "mock: Hello from the AI SDK ✓");
assert.equal(g.finishReason, "stop");
assert.ok(g.usage.inputTokens > 0 && g.usage.outputTokens > 0, `usage ${JSON.stringify(g.usage)}`);

// streamText.
let streamError = null;
const s = streamText({ ...opts, prompt: "stream this please", onError: ({ error }) => { streamError = error; } });
let text = "";
let parts = 0;
for await (const delta of s.textStream) { text += delta; parts++; }
assert.equal(streamError, null, `stream error ${streamError}`);
assert.equal(text, "mock: stream this please");
assert.ok(parts > 1, `several text deltas (${parts})`);
const usage = await s.usage;
assert.ok(usage.outputTokens > 0, `stream usage ${JSON.stringify(usage)}`);
assert.equal(await s.finishReason, "stop");

// A tool the SDK runs itself: function_call, the tool's result sent back, then the final text.
const weather = tool({
  description: "Current weather of a city",
  inputSchema: jsonSchema({ type: "object", properties: { echo: { type: "string" } } }),
  execute: async ({ echo }) => `sunny in ${echo}`,
});
const t = await generateText({ ...opts, tools: { get_weather: weather }, stopWhen: stepCountIs(3), prompt: "weather in Paris" });
assert.equal(t.steps.length, 2, `two steps: ${JSON.stringify(t.steps.map((x) => x.finishReason))}`);
assert.equal(t.steps[0].toolCalls[0].toolName, "get_weather");
assert.deepEqual(t.steps[0].toolCalls[0].input, { echo: "weather in Paris" });
assert.equal(t.text, 'mock: tool said sunny in weather in Paris');

// The same, streamed.
const st = streamText({ ...opts, tools: { get_weather: weather }, stopWhen: stepCountIs(3), prompt: "weather in Rome",
                        onError: ({ error }) => { streamError = error; } });
let stText = "";
for await (const delta of st.textStream) stText += delta;
assert.equal(streamError, null, `stream error ${streamError}`);
assert.equal(stText, 'mock: tool said sunny in weather in Rome');
console.log(`ai sdk (${modelName}): ok`);
