// The admin web UI (ui/, served by the daemon at /ui/) in Debian's chromium, driven by
// playwright-core, against the real daemon and tollgate-mock, with the openai SDK as the client
// whose traffic the UI must show. Started by run_browser_ui_test.sh.
// Usage: node browser_ui_test.mjs <gateway_url> <master_key> <config.yaml> <screenshot_dir> <chromium>
//          [<main_url> <admin_url> of a second daemon with server.admin_listen]
// Fails on the first broken expectation, on any console error the test did not cause on purpose,
// on any request to another origin, and on a session cookie without HttpOnly and SameSite=Strict.
import { chromium } from "playwright-core";
import OpenAI from "openai";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import os from "node:os";

const [gw, master, configPath, shots, chromiumPath, splitMain, splitAdmin] = process.argv.slice(2);
const origin = new URL(gw).origin;
const started = Date.now();
const step = (what) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${what}`);

const sdk = (apiKey) => new OpenAI({ baseURL: `${gw}/v1`, apiKey, maxRetries: 0 });
const chat = (apiKey, content, model = "gpt-home") =>
  sdk(apiKey).chat.completions.create({ model, messages: [{ role: "user", content }] });

// A chat on a connection of its own. The SDK's keep-alive connections are not used to check a
// reload: the first request on a connection that sat idle through a reload is still served with
// the old config (src/server/worker.cpp takes the snapshot before reading the request: reported).
function freshChat(model, content) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model, messages: [{ role: "user", content }] });
    const req = http.request(`${gw}/v1/chat/completions`, {
      method: "POST", agent: false,
      headers: { authorization: `Bearer ${master}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
// The admin API as the master key, to check what the UI changed.
async function api(method, p) {
  const res = await fetch(`${gw}${p}`, { method, headers: { authorization: `Bearer ${master}` } });
  assert.equal(res.status, 200, `${method} ${p}`);
  return res.json();
}
const content = (r) => r.json.choices?.[0]?.message?.content ?? JSON.stringify(r.json);

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage"],
});

// Responses the test provokes on purpose (a wrong key, a refused config, a dead session): the
// browser logs each as a console error ("Failed to load resource"), which is allowed only for them.
const expected = [];  // {path, status}
const problems = [];
const foreign = [];

function watch(page, name, own = origin) {
  page.on("request", (req) => {
    const u = req.url();
    if (u.startsWith("data:") || u.startsWith("blob:")) return;
    if (new URL(u).origin !== own) foreign.push(`${name}: ${req.method()} ${u}`);
  });
  page.on("pageerror", (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    const text = msg.text();
    const m = /status of (\d+)/.exec(text);
    const url = msg.location()?.url || "";
    if (m && url.startsWith(own)) {
      const p = new URL(url).pathname;
      if (expected.some((e) => e.status === Number(m[1]) && p === e.path)) return;
    }
    problems.push(`${name}: console error: ${text} (${url})`);
  });
}

const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin });
const page = await context.newPage();
watch(page, "desktop");
page.setDefaultTimeout(8000);

// Every visible form control and button on the page has an accessible name.
async function assertLabelled(p, where) {
  const bare = await p.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => el.offsetParent !== null && el.type !== "hidden")
    .filter((el) => !(el.labels?.length || el.getAttribute("aria-label") || (el.tagName === "BUTTON" && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 120)));
  assert.deepEqual(bare, [], `controls without a label on ${where}`);
}

const shot = async (name, p = page) => {
  await assertLabelled(p, name);
  await p.evaluate(() => document.getElementById("toasts")?.replaceChildren());  // transient
  await p.screenshot({ path: path.join(shots, `${name}.png`) });
};
const go = async (hash) => {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForFunction((h) => document.title !== "Tollgate" && location.hash === h, hash);
};

try {
  // --- Sign-in: headers, a wrong key, the right one, the cookie's flags.
  step("sign-in page");
  expected.push({ path: "/ui/api/session", status: 401 });  // the first visit has no session
  const resp = await page.goto(`${gw}/ui/`);
  assert.equal(resp.status(), 200);
  const csp = resp.headers()["content-security-policy"] || "";
  assert.match(csp, /default-src 'self'/, `CSP on /ui/: ${csp}`);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(resp.headers()["x-frame-options"], "DENY");
  const keyBox = page.getByLabel("Master key");
  await keyBox.waitFor();
  await shot("signin");
  await keyBox.fill("sk-not-the-master-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That key is not the master key.").waitFor();
  await keyBox.fill(master);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Pages" }).waitFor();
  expected.length = 0;
  let cookie = (await context.cookies(origin)).find((c) => c.name === "tg_session");
  assert.ok(cookie, "tg_session cookie set");
  assert.equal(cookie.httpOnly, true, "session cookie HttpOnly");
  assert.equal(cookie.sameSite, "Strict", "session cookie SameSite=Strict");
  assert.equal(cookie.path, "/");
  assert.ok(cookie.value.length >= 43, "a 256-bit session id");
  const stored = await page.evaluate(() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)].join("|"));
  assert.ok(!stored.includes("tg_session") && !stored.includes(master), `script-visible storage holds no session or key: ${stored}`);

  // --- Overview: its request count follows traffic sent with the openai SDK.
  step("overview");
  await page.getByRole("heading", { name: "Overview" }).waitFor();
  const requestsCard = page.getByRole("region", { name: "Requests" }).locator(".value");
  await requestsCard.waitFor();
  const before = Number((await requestsCard.textContent()).replace(/,/g, ""));
  for (let i = 0; i < 3; i++) await chat(master, `overview ${i}`);
  await chat(master, "fast one", "gpt-fast");
  const stream = await sdk(master).chat.completions.create({ model: "gpt-fast", stream: true, messages: [{ role: "user", content: "streamed for the overview" }] });
  for await (const _ of stream) { /* drain */ }
  await assert.rejects(chat(master, "no such model", "gpt-nowhere"), (e) => e.status === 404);  // an error to show
  let after = before;
  for (let i = 0; i < 40 && after < before + 6; i++) {
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.waitForTimeout(150);
    after = Number((await requestsCard.textContent()).replace(/,/g, ""));
  }
  assert.ok(after >= before + 6, `overview requests went from ${before} to ${after}`);
  const errors = await page.getByRole("region", { name: "Errors" }).locator(".value").textContent();
  assert.notEqual(errors, "0", "the overview counts the 404");
  const spend = await page.getByRole("region", { name: "Spend" }).locator(".value").textContent();
  assert.notEqual(spend, "$0", "the overview shows spend");
  assert.ok(await page.locator("svg.chart rect.s0").count() > 0, "the requests chart has columns");
  await page.getByRole("button", { name: "Last hour" }).click();
  await page.waitForFunction(() => document.querySelector('[data-range="hour"]').getAttribute("aria-pressed") === "true" &&
    document.querySelector(".overview").getAttribute("aria-busy") === "false");
  await shot("overview");

  // --- Keys: create one in the UI (shown once, copied), use it from the SDK, disable it.
  step("keys");
  await go("#/keys");
  await page.getByRole("button", { name: "New key" }).click();
  const dlg = page.getByRole("dialog", { name: "New key" });
  await dlg.getByLabel("Name").fill("browser-kid");
  await dlg.getByLabel("Budget (USD)").fill("5");
  await dlg.getByLabel("Requests / min").fill("100");
  await dlg.getByRole("button", { name: "Create key" }).click();
  const shown = page.getByRole("dialog", { name: /Key “browser-kid” created/ });
  const newKey = await shown.getByLabel("The new key").inputValue();
  assert.match(newKey, /^sk-tg-[0-9A-Za-z]{43}$/, `the new key: ${newKey}`);
  await shown.getByRole("button", { name: "Copy" }).click();
  await shown.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), newKey, "the copy button copies the key");
  await shot("key-created");
  await shown.getByRole("button", { name: "Done" }).click();
  const answer = await chat(newKey, "from the new key");
  assert.equal(answer.choices[0].message.content, "mock: from the new key");
  // A team with a budget, the new key as its member.
  await page.getByRole("button", { name: "New team" }).click();
  const tdlg = page.getByRole("dialog", { name: "New team" });
  await tdlg.getByLabel("Name").fill("family");
  await tdlg.getByLabel("Budget (USD)").fill("20");
  await tdlg.getByLabel("browser-kid", { exact: true }).check();
  await tdlg.getByRole("button", { name: "Create team" }).click();
  const teamRow = page.locator('#teams-table tr[data-team="family"]');
  await teamRow.getByText("browser-kid").waitFor();
  await teamRow.getByText("of $20.00 per month").waitFor();
  // Spend shows against the budget once the row is settled.
  const keyRow = page.locator("#keys-table tbody tr", { hasText: "browser-kid" });
  for (let i = 0; i < 30; i++) {
    await go("#/overview"); await go("#/keys");
    if (!(await keyRow.textContent()).includes("$0 of $5.00")) break;
    await page.waitForTimeout(100);
  }
  const rowText = await keyRow.textContent();
  assert.match(rowText, /\$0\.0\d+ of \$5\.00 per month/, `spend against budget: ${rowText}`);
  assert.match(rowText, /100 rpm/);
  assert.match(rowText, /family/);
  assert.doesNotMatch(rowText, /never/, "last used is set");
  await shot("keys");
  // Edit: a bigger budget, an expiry date, limited to one model.
  await keyRow.getByRole("button", { name: "Edit key browser-kid" }).click();
  const edlg = page.getByRole("dialog", { name: "Edit key “browser-kid”" });
  assert.equal(await edlg.getByLabel("Budget (USD)").inputValue(), "5");
  await edlg.getByLabel("Budget (USD)").fill("7.25");
  await edlg.getByLabel("Models").fill("gpt-home");
  await edlg.getByLabel("Expires").fill("2030-01-31");
  await edlg.getByRole("button", { name: "Save" }).click();
  await keyRow.getByText(/of \$7\.25 per month/).waitFor();
  const edited = (await api("GET", "/admin/keys")).data.find((k) => k.name === "browser-kid");
  assert.deepEqual(edited.models, ["gpt-home"]);
  assert.match(edited.expires_at, /^2030-01-31/);
  assert.equal(edited.budget.limit_nano_usd, 7_250_000_000);
  // Another tab signs in: the cookie now names a new session, this tab's CSRF token is stale
  // (403 csrf_failed); the page takes the live session's token and its change goes through.
  const keyId = await keyRow.getAttribute("data-key");
  assert.equal((await context.request.post(`${gw}/ui/api/session`, { data: { key: master } })).status(), 200);
  const renewed = (await context.cookies(origin)).find((c) => c.name === "tg_session");
  assert.notEqual(renewed.value, cookie.value, "a second sign-in makes a new session");
  cookie = renewed;
  expected.push({ path: `/admin/keys/${keyId}`, status: 403 });
  await keyRow.getByRole("button", { name: "Disable key browser-kid" }).click();
  await page.locator("#keys-table tbody tr", { hasText: "browser-kid" }).locator(".badge", { hasText: "disabled" }).waitFor();
  assert.equal((await api("GET", `/admin/keys/${keyId}`)).enabled, false, "disabled in the daemon once the page says so");
  await assert.rejects(chat(newKey, "after disable"),
    (e) => e instanceof OpenAI.PermissionDeniedError && e.status === 403 && e.code === "key_disabled");

  // --- Who spent what this month: the overview split by key.
  await go("#/overview");
  await page.getByRole("button", { name: "This month" }).click();
  await page.getByLabel("Split by").selectOption("key");
  const kidTotals = page.getByRole("region", { name: /Totals by key/ }).locator("tr", { hasText: "browser-kid" });
  await kidTotals.waitFor();
  assert.match(await kidTotals.textContent(), /\$0\.0000\d+/, "the key's spend this month");

  // --- Request log: filter by the key, open its row.
  step("request log");
  await go("#/logs");
  await page.getByLabel("Key").selectOption({ label: "browser-kid" });
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForFunction(() => location.hash.includes("key=key_"));
  const logRows = page.locator("#log-table tbody tr");
  // The unfiltered table may still be on screen until the filtered one replaces it.
  let texts = [];
  for (let i = 0; i < 80; i++) {
    texts = await logRows.allTextContents();
    if (texts.length && texts.every((t) => t.includes("browser-kid"))) break;
    await page.waitForTimeout(100);
  }
  assert.ok(texts.length >= 1 && texts.every((t) => t.includes("browser-kid")), `filtered log rows: ${texts}`);
  assert.ok(texts.some((t) => t.includes("200")), "the key's 200 is listed");
  await shot("logs");
  await logRows.filter({ hasText: "200" }).first().getByRole("button", { name: /Open request/ }).click();
  const detail = page.getByRole("dialog", { name: /Request / });
  await detail.getByText("gpt-home", { exact: true }).waitFor();
  assert.match(await detail.textContent(), /mock\/gpt-4o-mini/);
  await detail.getByText("Request body").click();  // logs.bodies is on: the bodies, as logged
  await detail.getByText(/from the new key/).first().waitFor();
  await shot("log-detail");
  await detail.getByRole("button", { name: "Close" }).click();

  // --- Why a request failed over: its row lists every attempt.
  const saved = await chat(master, "through a failover", "gpt-safe");
  assert.match(saved.choices[0].message.content, /mock/);
  for (let i = 0; i < 80; i++) {  // the row reaches the log at the store's next flush
    const res = await fetch(`${gw}/admin/logs?model=gpt-safe`, { headers: { authorization: `Bearer ${master}` } });
    if ((await res.json()).data.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await go("#/logs?model=gpt-safe");
  const safeRow = page.locator("#log-table tbody tr", { hasText: "gpt-safe" }).first();
  await safeRow.getByRole("button", { name: /Open request/ }).click();
  const tried = page.getByRole("dialog", { name: /Request / }).locator("ol.attempts li");
  await tried.last().waitFor();
  const tries = await tried.allTextContents();
  assert.ok(tries.length >= 2, `attempts listed: ${tries}`);
  assert.match(tries[0], /down\/gpt-4o-mini/);
  assert.match(tries[0], /upstream/i, `the failed attempt's error: ${tries[0]}`);
  assert.match(tries[tries.length - 1], /mock\/gpt-4o-mini.*200/);
  assert.ok(!tries.join(" ").includes("sk-down-secret"), "never the provider key");
  await shot("log-failover");
  await page.getByRole("dialog", { name: /Request / }).getByRole("button", { name: "Close" }).click();

  // --- Providers and prices.
  step("providers");
  await go("#/providers");
  await page.locator("#deployments").getByText("mock/gpt-4o-mini").waitFor();
  // The failed-over deployment's attempts count against it, though its request was answered.
  assert.match(await page.locator("#deployments tr", { hasText: "down/gpt-4o-mini" }).textContent(), /100%/);
  await page.locator("#models").getByText("gpt-fast").waitFor();
  await shot("providers");

  // --- Config: a changed file reloads; a broken one is refused with its errors.
  step("config");
  await go("#/config");
  const yamlBox = page.getByLabel("The configuration file");
  await yamlBox.waitFor();
  const yamlText = await yamlBox.textContent();
  assert.ok(!yamlText.includes("sk-upstream-secret-do-not-show") && !yamlText.includes(master), "secrets redacted");
  const good = fs.readFileSync(configPath, "utf8");
  fs.writeFileSync(configPath, good.replace("models:\n", "models:\n  - name: gpt-reloaded\n    targets: [mock/gpt-4o]\n"));
  await page.getByRole("button", { name: "Reload from disk" }).click();
  await page.getByText("Configuration reloaded.").waitFor();
  await yamlBox.getByText("gpt-reloaded", { exact: false }).waitFor();
  assert.equal(content(await freshChat("gpt-reloaded", "after reload")), "mock: after reload");
  expected.push({ path: "/admin/reload", status: 400 });
  fs.writeFileSync(configPath, good.replace("targets: [mock/gpt-4.1-nano]", "targets: [nowhere/gpt-4.1-nano]")
    .replace("server:\n", "server:\n  bogus_option: 1\n"));
  await page.getByRole("button", { name: "Reload from disk" }).click();
  const errs = page.locator("#reload-errors");
  await errs.waitFor();
  const errText = await errs.textContent();
  assert.match(errText, /refused/);
  assert.match(errText, /nowhere|bogus_option/, `the refused file's errors: ${errText}`);
  await shot("config");
  assert.equal(content(await freshChat("gpt-reloaded", "old config serves")), "mock: old config serves");
  fs.writeFileSync(configPath, good);

  // --- Playground: a streamed chat as the session.
  step("playground");
  await go("#/playground");
  await page.getByLabel("Model").selectOption("gpt-home");
  const streamed = page.waitForResponse((r) => r.url().includes("/chat/completions") && r.request().method() === "POST");
  await page.getByLabel("Message").fill("hello from the playground");
  await page.getByRole("button", { name: "Send" }).click();
  const sres = await streamed;
  assert.equal(sres.status(), 200);
  assert.match(sres.headers()["content-type"], /text\/event-stream/, "the playground's chat is streamed");
  await page.locator("#chat .msg.assistant").getByText("mock: hello from the playground").waitFor();
  await page.locator("#play-tokens").getByText(/\d+ in · \d+ out/).waitFor();
  await page.locator("#play-cost").getByText(/^\$0\.\d+/).waitFor();
  assert.match(await page.locator("#play-headers").textContent(), /x-tollgate-/);
  await shot("playground");
  // The same as the pasted virtual key, now disabled: the gateway's 403 is shown.
  expected.push({ path: new URL(sres.url()).pathname, status: 403 });
  await page.getByLabel("a virtual key").check();
  await page.getByLabel("Virtual key", { exact: true }).fill(newKey);
  await page.getByLabel("Message").fill("as the disabled key");
  await page.getByRole("button", { name: "Send" }).click();
  await page.locator("#chat .msg.error").getByText(/403/).waitFor();

  // --- Phone width: the overview.
  step("phone");
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  await phone.addCookies([{ ...cookie }]);
  const ppage = await phone.newPage();
  watch(ppage, "phone");
  await ppage.goto(`${gw}/ui/#/overview`);
  await ppage.getByRole("region", { name: "Requests" }).waitFor();
  await ppage.waitForFunction(() => document.querySelector(".overview")?.getAttribute("aria-busy") === "false");
  const overflow = await ppage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the phone overview scrolls sideways by ${overflow}px`);
  await shot("overview-phone", ppage);
  for (const hash of ["#/keys", "#/logs"]) {  // their tables become one block per row
    await ppage.evaluate((h) => { location.hash = h; }, hash);
    await ppage.locator(hash === "#/keys" ? "#keys-table" : "#log-table").waitFor();
    const wide = await ppage.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wide <= 0, `${hash} at phone width scrolls sideways by ${wide}px`);
    const hidden = await ppage.evaluate(() => [...document.querySelectorAll(".table.stack button")]
      .filter((b) => b.getBoundingClientRect().right > window.innerWidth).length);
    assert.equal(hidden, 0, `${hash}: buttons off screen at phone width`);
  }
  await phone.close();

  // --- Sign-out; then a session that dies server-side sends the UI back to sign-in.
  step("sign-out and expiry");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("Signed out.").waitFor();
  assert.equal((await context.cookies(origin)).filter((c) => c.name === "tg_session" && c.value).length, 0, "cookie cleared");
  expected.push({ path: "/ui/api/session", status: 401 });
  const res = await context.request.get(`${gw}/admin/keys`, { headers: { cookie: `tg_session=${cookie.value}` } });
  assert.equal(res.status(), 401, "the signed-out session is dead server-side");
  await page.getByLabel("Master key").fill(master);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Pages" }).waitFor();
  await context.clearCookies();  // as if the session expired
  expected.push({ path: "/admin/keys", status: 401 }, { path: "/admin/teams", status: 401 }, { path: "/admin/providers", status: 401 });
  await go("#/keys");
  await page.getByText("Your session has expired. Sign in again.").waitFor();

  // --- With server.admin_listen: the UI, its session and the playground on the admin port only.
  if (splitAdmin) {
    step("admin port");
    assert.equal((await fetch(`${splitMain}/ui/`)).status, 404, "no UI on the main port");
    const actx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const apage = await actx.newPage();
    watch(apage, "admin port", new URL(splitAdmin).origin);
    apage.setDefaultTimeout(8000);
    await apage.goto(`${splitAdmin}/ui/`);
    await apage.getByLabel("Master key").fill(master);
    await apage.getByRole("button", { name: "Sign in" }).click();
    await apage.getByRole("navigation", { name: "Pages" }).waitFor();
    await apage.evaluate(() => { location.hash = "#/playground"; });
    await apage.getByLabel("Model").selectOption("gpt-fast");
    const achat = apage.waitForResponse((r) => r.url().includes("/chat/completions"));
    await apage.getByLabel("Message").fill("over the admin port");
    await apage.getByRole("button", { name: "Send" }).click();
    const ares = await achat;
    assert.equal(new URL(ares.url()).pathname, "/ui/api/chat/completions");
    assert.match(ares.headers()["content-type"], /text\/event-stream/);
    await apage.locator("#chat .msg.assistant").getByText("mock: over the admin port").waitFor();
    await apage.evaluate(() => { location.hash = "#/keys"; });
    await apage.getByRole("button", { name: "New key" }).waitFor();
    await actx.close();
  }

  assert.deepEqual(foreign, [], "requests to another origin");
  assert.deepEqual(problems, [], "console errors");
  const pngs = fs.readdirSync(shots).filter((f) => f.endsWith(".png"));
  step(`done: ${pngs.length} screenshots in ${shots}`);
  assert.ok(Date.now() - started < 60000, "the browser test takes under 60 s");
} catch (e) {
  const failShot = path.join(os.tmpdir(), "browser-ui-failure.png");  // never into docs/ui
  await page.screenshot({ path: failShot }).then(() => console.error(`screenshot: ${failShot}`), () => {});
  console.error("problems so far:", problems, "foreign:", foreign);
  throw e;
} finally {
  await browser.close();
}
