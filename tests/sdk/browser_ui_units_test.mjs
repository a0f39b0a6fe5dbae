// The web UI's pure helpers, in Node (no browser): money formatting from integer nano-USD (no
// floats), dollar parsing, and the playground's SSE splitting across arbitrary chunk boundaries.
// Usage: node browser_ui_units_test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { money, parseUsd, usdString, budgetLimitNano, compact } from "../../ui/format.js";
import { sseEvents } from "../../ui/playground.js";
import fs from "node:fs";
import zlib from "node:zlib";

test("the whole of ui/ stays under its 250 KB gzip budget, with no inline script or style", () => {
  const dir = new URL("../../ui/", import.meta.url);
  let total = 0;
  for (const f of fs.readdirSync(dir)) {
    const bytes = fs.readFileSync(new URL(f, dir));
    total += zlib.gzipSync(bytes, { level: 9 }).length;
    const text = bytes.toString("utf8");
    if (f.endsWith(".html")) {
      assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/, `${f}: an inline <script>`);
      assert.doesNotMatch(text, /\son[a-z]+=|\sstyle=|<style/i, `${f}: an inline handler or style`);
      assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//, `${f}: a file from another origin`);
    }
    if (f.endsWith(".js")) {
      assert.doesNotMatch(text, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, `${f}: HTML from strings`);
      assert.doesNotMatch(text, /localStorage|sessionStorage/, `${f}: browser storage`);
      assert.doesNotMatch(text, /\.style\.|setAttribute\('style'/, `${f}: an inline style`);
    }
  }
  assert.ok(total < 250 * 1024, `ui/ is ${total} bytes gzipped`);
  console.log(`ui/: ${total} bytes gzipped (file by file)`);
});

test("money: cents above a cent, two significant digits below, grouped thousands", () => {
  assert.equal(money(0), "$0");
  assert.equal(money(null), "—");
  assert.equal(money(1_000_000_000), "$1.00");
  assert.equal(money(12_345_678), "$0.01");
  assert.equal(money(1_234_567), "$0.0012");
  assert.equal(money(13_000), "$0.000013");
  assert.equal(money(1), "$0.000000001");
  assert.equal(money(1_234_567_890_123), "$1,234.57");
  assert.equal(money(-15_000_000), "-$0.02");
  assert.equal(money(4_999_999_999n), "$5.00");  // half up, in integers
  assert.equal(money(5_005_000_000n), "$5.01");
  assert.equal(money(126n, { precise: true }), "$0.000000126");
});

test("money: exact past 2^53 when given as a bigint or a string", () => {
  assert.equal(money(9_223_372_036_854_775_807n), "$9,223,372,036.85");
  assert.equal(money("9007199254740993"), "$9,007,199.25");
});

test("parseUsd / usdString round-trip without floats", () => {
  assert.equal(parseUsd("5"), 5_000_000_000n);
  assert.equal(parseUsd("$12.50"), 12_500_000_000n);
  assert.equal(parseUsd("0.000000001"), 1n);
  assert.equal(parseUsd("0.1"), 100_000_000n);
  for (const bad of ["", "abc", "-1", "1.0000000001", "1e3", "1,000"]) assert.equal(parseUsd(bad), null, bad);
  assert.equal(usdString(12_500_000_000n), "12.5");
  assert.equal(usdString(100_000_000n), "0.1");
  assert.equal(usdString(5_000_000_000n), "5");
});

test("budgetLimitNano: the server's integer when present, else the usd double's decimal text", () => {
  assert.equal(budgetLimitNano({ usd: 0.1, limit_nano_usd: 100_000_000 }), 100_000_000n);
  assert.equal(budgetLimitNano({ usd: 0.1 }), 100_000_000n);    // not 100000000.00000001
  assert.equal(budgetLimitNano({ usd: 0.3 }), 300_000_000n);
  assert.equal(budgetLimitNano({ usd: 50 }), 50_000_000_000n);
  assert.equal(budgetLimitNano(null), null);
});

test("compact", () => {
  assert.equal(compact(999), "999");
  assert.equal(compact(1234), "1.2k");
  assert.equal(compact(25_000), "25k");
  assert.equal(compact(2_500_000), "2.5M");
});

test("sseEvents: events split at any byte, CRLF, multi-line data, a tail kept for later", () => {
  const stream = 'data: {"a":1}\n\n: comment\n\ndata: {"b":\r\ndata: 2}\r\n\r\ndata: [DONE]\n\n';
  for (let cut = 0; cut <= stream.length; cut++) {
    const got = [];
    let buf = sseEvents(stream.slice(0, cut), (d) => got.push(d));
    buf = sseEvents(buf + stream.slice(cut), (d) => got.push(d));
    assert.deepEqual(got, ['{"a":1}', '{"b":\n2}', "[DONE]"], `cut at ${cut}`);
    assert.equal(buf, "");
  }
});
