// The official `openai` npm package's Responses API (client.responses.*) pointed at Tollgate.
// Usage: node openai_responses_test.mjs <base_url> <api_key> <model> [direct]
// `direct` (the base URL is tollgate-mock itself) skips what only Tollgate's store serves:
// retrieve, input_items, delete, and store: false.
// Exits non-zero with a message on the first failed expectation.
import OpenAI from "openai";
import assert from "node:assert/strict";

const [baseURL, apiKey, model, mode] = process.argv.slice(2);
const direct = mode === "direct";
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const tools = [
  {
    type: "function",
    name: "get_weather",
    description: "Current weather of a city",
    strict: false,
    parameters: { type: "object", properties: { city: { type: "string" } } },
  },
];

// Non-streamed text.
const r1 = await client.responses.create({ model, instructions: "Be brief.", input: "Hello from Responses ✓" });
assert.equal(r1.object, "response");
assert.equal(r1.status, "completed");
assert.equal(r1.output_text, "mock: Hello from Responses ✓");
assert.equal(r1.output.at(-1).type, "message");
assert.ok(r1.usage.input_tokens > 0 && r1.usage.output_tokens > 0, `usage ${JSON.stringify(r1.usage)}`);
assert.equal(r1.usage.total_tokens, r1.usage.input_tokens + r1.usage.output_tokens);

// Streamed text: the full event sequence, numbered, ending in response.completed with usage.
async function collect(stream) {
  const ev = { types: [], text: "", args: "", completed: null, items: [] };
  let last = -1;
  for await (const e of stream) {
    ev.types.push(e.type);
    assert.ok(e.sequence_number > last, `sequence_number ${e.sequence_number} after ${last}`);
    last = e.sequence_number;
    if (e.type === "response.output_text.delta") ev.text += e.delta;
    if (e.type === "response.function_call_arguments.delta") ev.args += e.delta;
    if (e.type === "response.output_item.done") ev.items.push(e.item);
    if (e.type === "response.completed") ev.completed = e.response;
    assert.notEqual(e.type, "error", `error event ${JSON.stringify(e)}`);
    assert.notEqual(e.type, "response.failed", `failed ${JSON.stringify(e)}`);
  }
  return ev;
}
const s1 = await collect(await client.responses.create({ model, input: "stream this please", stream: true }));
assert.equal(s1.text, "mock: stream this please");
assert.equal(s1.types[0], "response.created");
for (const t of ["response.output_item.added", "response.content_part.added", "response.output_text.done",
                 "response.content_part.done", "response.output_item.done"]) {
  assert.ok(s1.types.includes(t), `${t} in ${s1.types}`);
}
assert.equal(s1.types.at(-1), "response.completed");
assert.ok(s1.types.filter((t) => t === "response.output_text.delta").length > 1, "several text deltas");
assert.equal(s1.completed.output_text ?? s1.completed.output[0].content[0].text, "mock: stream this please");
assert.ok(s1.completed.usage.output_tokens > 0, "usage in response.completed");

// The SDK's stream helper, which checks the event order itself.
const helper = client.responses.stream({ model, input: "helper stream" });
const final = await helper.finalResponse();
assert.equal(final.output_text, "mock: helper stream");

// Function tool round trip, non-streamed: function_call, then function_call_output on a second
// turn that continues the first with previous_response_id.
const t1 = await client.responses.create({ model, tools, input: "weather in Paris" });
const call = t1.output.find((o) => o.type === "function_call");
assert.ok(call, `a function_call in ${JSON.stringify(t1.output)}`);
assert.equal(call.name, "get_weather");
assert.ok(call.call_id, "call_id set");
assert.deepEqual(JSON.parse(call.arguments), { echo: "weather in Paris" });
const t2 = await client.responses.create({
  model,
  tools,
  previous_response_id: t1.id,
  input: [{ type: "function_call_output", call_id: call.call_id, output: "sunny, 21 C" }],
});
assert.equal(t2.output_text, "mock: tool said sunny, 21 C");
assert.equal(t2.previous_response_id, t1.id);

// The same round trip streamed, the arguments arriving as deltas.
const st1 = await collect(await client.responses.create({ model, tools, input: "weather in Rome", stream: true }));
assert.ok(st1.types.includes("response.function_call_arguments.done"), `${st1.types}`);
assert.deepEqual(JSON.parse(st1.args), { echo: "weather in Rome" });
const scall = st1.items.find((i) => i.type === "function_call");
assert.equal(scall.name, "get_weather");
const st2 = await collect(await client.responses.create({
  model,
  tools,
  stream: true,
  previous_response_id: st1.completed.id,
  input: [{ type: "function_call_output", call_id: scall.call_id, output: "rain" }],
}));
assert.equal(st2.text, "mock: tool said rain");

if (!direct) {
  // Stored responses: retrieve, input items, delete.
  const got = await client.responses.retrieve(t1.id);
  assert.equal(got.id, t1.id);
  assert.deepEqual(got.output.find((o) => o.type === "function_call").call_id, call.call_id);
  const streamedGot = await client.responses.retrieve(st2.completed.id);
  assert.equal(streamedGot.output_text ?? streamedGot.output.at(-1).content[0].text, "mock: tool said rain");

  const items = [];
  for await (const item of client.responses.inputItems.list(t2.id)) items.push(item);
  const out = items.find((i) => i.type === "function_call_output");
  assert.ok(out, `function_call_output among input items ${JSON.stringify(items)}`);
  assert.equal(out.call_id, call.call_id);
  const firstItems = [];
  for await (const item of client.responses.inputItems.list(r1.id)) firstItems.push(item);
  assert.ok(JSON.stringify(firstItems).includes("Hello from Responses ✓"), JSON.stringify(firstItems));

  await client.responses.delete(t1.id);
  await assert.rejects(client.responses.retrieve(t1.id), (e) => e instanceof OpenAI.NotFoundError);

  // store: false keeps nothing.
  const unstored = await client.responses.create({ model, input: "forget me", store: false });
  assert.equal(unstored.output_text, "mock: forget me");
  await assert.rejects(client.responses.retrieve(unstored.id), (e) => e instanceof OpenAI.NotFoundError);

  // An unknown previous_response_id is the SDK's typed 404... or 400 as OpenAI answers it.
  await assert.rejects(
    client.responses.create({ model, input: "x", previous_response_id: "resp_does_not_exist" }),
    (e) => e instanceof OpenAI.NotFoundError || e instanceof OpenAI.BadRequestError,
  );
}

if (!direct) {
  // An unknown model is the SDK's typed error, as on chat.
  await assert.rejects(
    client.responses.create({ model: "no-such-model", input: "x" }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found",
  );
}
console.log(`openai responses (${model}${direct ? ", direct" : ""}): ok`);
