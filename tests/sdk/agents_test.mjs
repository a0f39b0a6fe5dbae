// The OpenAI Agents SDK (@openai/agents), which uses the Responses API by default, pointed at
// Tollgate: a plain run, a streamed run, and a run whose agent calls a function tool.
// Usage: node agents_test.mjs <base_url> <api_key> <model>
// Exits non-zero with a message on the first failed expectation.
import OpenAI from "openai";
import { Agent, run, setDefaultOpenAIClient, setTracingDisabled, tool } from "@openai/agents";
import assert from "node:assert/strict";

const [baseURL, apiKey, model] = process.argv.slice(2);
setDefaultOpenAIClient(new OpenAI({ baseURL, apiKey, maxRetries: 0 }));
setTracingDisabled(true); // traces would go to OpenAI's platform

const plain = new Agent({ name: "plain", instructions: "Be brief.", model });
const r = await run(plain, "Hello from the Agents SDK ✓");
assert.equal(r.finalOutput, "mock: Hello from the Agents SDK ✓");

const streamed = await run(plain, "stream this please", { stream: true });
let text = "";
for await (const chunk of streamed.toTextStream()) text += chunk;
await streamed.completed;
assert.equal(text, "mock: stream this please");
assert.equal(streamed.finalOutput, "mock: stream this please");

const getWeather = tool({
  name: "get_weather",
  description: "Current weather of a city",
  parameters: { type: "object", properties: { echo: { type: "string" } }, required: ["echo"], additionalProperties: false },
  strict: false,
  execute: async ({ echo }) => `sunny in ${echo}`,
});
const withTool = new Agent({ name: "weather", instructions: "Use the tool.", model, tools: [getWeather] });
const t = await run(withTool, "weather in Paris");
assert.equal(t.finalOutput, "mock: tool said sunny in weather in Paris");
assert.ok(t.newItems.some((i) => i.type === "tool_call_output_item"), "the tool ran");
console.log(`openai agents (${model}): ok`);
