// Checks the real-client tests make after a client ran, on what the gateway and the mock recorded.
//   node checks.mjs log <gateway_url> <master_key> <model> <min_rows> [all]
//     Polls /admin/logs (rows are written in batches) until the model has at least min_rows rows
//     that are 200s with input and output tokens, and requires no row of the model to be a 5xx.
//     With `all`, every row of the gateway (any model, any path) must be a 200 with tokens: a
//     client that only chats must never have been refused, even once before a retry.
//   node checks.mjs mock-paths <mock_url> <model> <path> [<path>...]
//     Every request the mock got for <model> went to one of the paths (the query string aside),
//     and there was at least one: shows whether the gateway translated or passed through.
import assert from "node:assert/strict";

const [cmd, ...args] = process.argv.slice(2);

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200, `GET ${url}: ${res.status} ${await res.clone().text()}`);
  return res.json();
}

if (cmd === "log") {
  const [gw, master, model, minRows, all] = args;
  const auth = { authorization: `Bearer ${master}` };
  const good = (r) => r.status === 200 && r.tokens?.input > 0 && r.tokens?.output > 0;
  let rows = [];
  for (let i = 0; i < 50; i++) {
    rows = (await getJson(`${gw}/admin/logs?limit=1000`, auth)).data;
    if (rows.filter((r) => r.model === model && good(r)).length >= Number(minRows)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const mine = rows.filter((r) => r.model === model);
  const dump = JSON.stringify(rows);
  assert.ok(mine.filter(good).length >= Number(minRows), `want >= ${minRows} rows of ${model}, 200 with tokens: ${dump}`);
  for (const r of mine) assert.ok(r.status < 500, `a ${r.status} in the request log: ${JSON.stringify(r)}`);
  if (all) for (const r of rows) assert.ok(good(r), `request log row not a 200 with tokens: ${JSON.stringify(r)}`);
  console.log(`request log: ${mine.length} rows for ${model}${all ? `, all ${rows.length} rows 200 with tokens` : ""}`);
} else if (cmd === "mock-paths") {
  const [mock, model, ...paths] = args;
  const log = await getJson(`${mock}/__mock/requests`);
  const mine = log.filter((e) => e.body && typeof e.body === "object" && e.body.model === model);
  assert.ok(mine.length > 0, `the mock got no request for ${model}`);
  for (const e of mine) {
    const path = e.path.split("?")[0];
    assert.ok(paths.includes(path), `mock got ${e.method} ${e.path} for ${model}, want one of ${paths}`);
  }
  console.log(`mock: ${mine.length} requests for ${model} on ${[...new Set(mine.map((e) => e.path))]}`);
} else {
  console.error("usage: checks.mjs log|mock-paths ...");
  process.exit(2);
}
