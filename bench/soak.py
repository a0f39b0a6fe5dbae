#!/usr/bin/env python3
"""Tollgate's soak test: the driver behind bench/soak.sh (python3 standard library only).

It starts three tollgate-mock upstreams and the daemon on loopback (ports read back from
--port-file), then for N minutes sends open-loop mixed traffic with budgeted virtual keys while
real-life churn goes on: config reloads (the file rewritten, POST /admin/reload, a broken file
then its fix), keys created and deleted through the admin API, the primary upstream failing on and
off (503s, streams cut or ended by an error: the mock's /__mock/faults), clients hanging up on
streams part-way. At the end it checks the books against Σ tokens × price, exactly in integer
nano-USD, and reports requests, errors, RSS drift. The --kill9 phase then SIGKILLs the daemon under
load, restarts it on the same database and counts the answered requests whose rows (and spend)
were lost.

Only the processes started here are ever stopped, by PID.
"""

import argparse
import asyncio
import bisect
import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.parse

MASTER = "sk-soak-master"
VOCAB = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()

# USD per 1M tokens, keyed provider/model: what the config's pricing: says, and what the books
# are checked against. Prices with up to 6 decimals are exact in pico-USD per token; the slow
# target's prices are fractional nano-USD per token, so per-request rounding is exercised too.
PRICES = {
    "prime/gpt-4o-mini": (0.15, 0.6),
    "backup/gpt-4o-mini": (0.15, 0.6),
    "prime/gpt-4o": (2.5, 10.0),
    "slow/gpt-4o-mini": (0.123457, 0.987653),
}


def pico(usd_per_million):  # as Tollgate converts: llround(usd * 1e6) pico-USD per token
    return int(round(usd_per_million * 1e6))


PICO = {k: (pico(i), pico(o)) for k, (i, o) in PRICES.items()}


def cost_pico(price_key, inp, out):
    pi, po = PICO[price_key]
    return inp * pi + out * po


def nanos_nearest(p):  # half up, as pico_to_nanos_nearest
    return (p + 500) // 1000


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------
# Processes


class Procs:
    def __init__(self, tmp):
        self.tmp = tmp
        self.pids = {}

    def start(self, name, argv, port_file):
        if os.path.exists(port_file):
            os.unlink(port_file)
        out = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.tmp,
                             start_new_session=True)
        self.pids[name] = p
        for _ in range(200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                return p, int(open(port_file).read().strip())
            if p.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit(f"{name} did not start; see {out.name}")

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        p = self.pids.pop(name, None)
        if not p or p.poll() is not None:
            return
        p.send_signal(sig)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def stop_all(self):
        for name in list(self.pids):
            self.stop(name)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_parts_kb(pid):
    """(anonymous, file-backed) resident kB: the heap and the allocator's pages, against the
    binary and its libraries (which grow once, as code paths are first used)."""
    parts = {"RssAnon:": 0, "RssFile:": 0}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key = line.split(maxsplit=1)[0] if line.strip() else ""
                if key in parts:
                    parts[key] = int(line.split()[1])
    except OSError:
        pass
    return parts["RssAnon:"], parts["RssFile:"]


# ------------------------------------------------------------------------------------------------
# A small HTTP/1.1 client on asyncio streams: keep-alive, chunked, SSE, hang-ups.


class HttpError(Exception):
    pass


class Conn:
    def __init__(self, r, w):
        self.r, self.w = r, w
        self.used = 0
        self.idle_since = time.monotonic()

    def close(self):
        try:
            self.w.close()
        except Exception:
            pass


class Pool:
    def __init__(self, port):
        self.port = port
        self.idle = []

    async def get(self):
        now = time.monotonic()
        while self.idle:
            c = self.idle.pop()  # LIFO: the warmest connection
            if now - c.idle_since < 30 and not c.r.at_eof():
                return c
            c.close()
        r, w = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
        return Conn(r, w)

    def put(self, c):
        c.idle_since = time.monotonic()
        self.idle.append(c)

    def close_all(self):
        for c in self.idle:
            c.close()
        self.idle = []


class Resp:
    def __init__(self):
        self.status = 0
        self.headers = {}
        self.body = b""
        self.events = 0          # SSE data events (not [DONE])
        self.done = False        # [DONE] seen
        self.stream_error = None  # the error object of an error event
        self.usage = None
        self.aborted = False     # we hung up on purpose
        self.complete = False    # the whole response arrived


async def read_head(r, resp):
    head = await r.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    resp.status = int(parts[1])
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            resp.headers[k.strip().lower()] = v.strip()


async def request(pool, method, path, headers=None, body=None, stream=False, abort_after=None):
    """One request on a pooled connection. For an SSE answer, abort_after=N hangs up after N
    data events. Raises on a connection failure."""
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    h = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{pool.port}", f"Content-Length: {len(data)}"]
    if body is not None:
        h.append("Content-Type: application/json")
    for k, v in (headers or {}).items():
        h.append(f"{k}: {v}")
    conn = await pool.get()
    resp = Resp()
    try:
        conn.w.write(("\r\n".join(h) + "\r\n\r\n").encode() + data)
        await conn.w.drain()
        await read_head(conn.r, resp)
        sse = resp.headers.get("content-type", "").startswith("text/event-stream")
        if resp.headers.get("transfer-encoding", "").lower() == "chunked":
            buf = b""
            while True:
                size_line = await conn.r.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                chunk = await conn.r.readexactly(size + 2)
                if size == 0:
                    break
                if not sse:
                    resp.body += chunk[:-2]
                    continue
                buf += chunk[:-2]
                while b"\n\n" in buf:
                    ev, buf = buf.split(b"\n\n", 1)
                    for line in ev.split(b"\n"):
                        if not line.startswith(b"data:"):
                            continue
                        payload = line[5:].strip()
                        if payload == b"[DONE]":
                            resp.done = True
                            continue
                        resp.events += 1
                        try:
                            obj = json.loads(payload)
                        except ValueError:
                            resp.stream_error = {"code": "bad_json"}
                            continue
                        if isinstance(obj, dict):
                            if obj.get("error"):
                                resp.stream_error = obj["error"]
                            if obj.get("usage"):
                                resp.usage = obj["usage"]
                if abort_after is not None and resp.events >= abort_after and not resp.done:
                    resp.aborted = True
                    conn.close()
                    return resp
        else:
            n = int(resp.headers.get("content-length", "0"))
            resp.body = await conn.r.readexactly(n) if n else b""
        resp.complete = True
    except BaseException:
        conn.close()
        raise
    if resp.headers.get("connection", "").lower() == "close":
        conn.close()
    else:
        pool.put(conn)
    return resp


async def admin(pool, method, path, body=None):
    resp = await request(pool, method, path, {"Authorization": f"Bearer {MASTER}"}, body)
    try:
        return resp.status, json.loads(resp.body or b"null")
    except ValueError:
        return resp.status, resp.body.decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------------
# The config file


def write_config(path, s, generation, aliases, broken=False):
    lines = [
        f"# generated by bench/soak.sh; generation {generation}",
        "store:",
        f"  sqlite: {s.tmp}/soak.db",
        "server:",
        f"  master_key: {MASTER}",
        "  access_log: true",
        "  log_level: info",
        "providers:",
    ]
    for name in ("prime", "backup", "slow"):
        lines += [f"  {name}:", "    type: openai-compatible",
                  f"    base_url: http://127.0.0.1:{s.mock_ports[name]}/v1", "    api_key: mock-key"]
    lines += [
        "models:",
        "  - name: chat                      # a failover chain: prime fails on and off",
        "    targets: [prime/gpt-4o-mini, backup/gpt-4o-mini]",
        "  - name: direct                    # no fallback: the client sees prime's failures",
        "    targets: [prime/gpt-4o]",
        "  - name: long                      # slow streams, some cut by the client",
        "    targets: [slow/gpt-4o-mini]",
    ]
    for a in aliases:  # one new per file reload, so a reload can be seen to have taken effect
        lines += [f"  - name: {a}", "    targets: [backup/gpt-4o-mini]"]
    lines += ["router:", "  retries: 0", "  cooldown: 2s", "pricing:"]
    for k, (i, o) in PRICES.items():
        lines.append(f"  {k}: {{ input: {i}, output: {o} }}")
    if broken:
        lines.append("  oops: [ this is not a price")  # a typo: must be refused, old config serves
    text = "\n".join(lines) + "\n"
    # Rewritten in place (open, truncate, write): what an editor without atomic save does.
    with open(path, "w") as f:
        f.write(text)


# ------------------------------------------------------------------------------------------------
# The soak


class Stats:
    def __init__(self):
        self.sent = 0
        self.outcomes = collections.Counter()   # answered, aborted, stream_error, http_<status>, conn_error
        self.by_status = collections.Counter()  # "200", "502 upstream_error", ...
        self.records = []                       # one per request: for the books and the kill phase
        self.not_sent = 0                       # open loop overflow: more than max in flight
        self.lag_ms = []                        # how late each send was against its schedule


class Soak:
    def __init__(self, args):
        self.args = args
        self.tmp = args.tmp
        self.procs = Procs(self.tmp)
        self.mock_ports = {}
        self.cfg = os.path.join(self.tmp, "config.yaml")
        self.generation = 0
        self.aliases = []
        self.keys = {}          # id -> {"key","name","budget"}; live keys requests may use
        self.tiny_key = None
        self.deleted = []       # (id, key) deleted through the admin API
        self.events = []        # churn log: (t, text)
        self.rng = random.Random(args.seed)
        self.run = f"{int(time.time())}"
        self.seq = 0
        self.inflight = 0
        self.prime_faulted = False
        self.tg_pid = None
        self.rss = []           # (t, kB)
        self.rss_parts = []     # (t, anonymous kB, file-backed kB), every 30 s

    def note(self, text):
        t = time.monotonic() - self.t0 if hasattr(self, "t0") else 0.0
        self.events.append((round(t, 1), text))
        log(text)

    # -- processes
    def start_mocks(self):
        for name, extra in (("prime", []), ("backup", []),
                            ("slow", ["--events", "40", "--interval-ms", "10"])):
            pf = os.path.join(self.tmp, f"mock-{name}.port")
            _, port = self.procs.start(f"mock-{name}", [self.args.mock, "--listen", "127.0.0.1:0",
                                                        "--port-file", pf] + extra, pf)
            self.mock_ports[name] = port

    def start_tollgate(self):
        pf = os.path.join(self.tmp, "tollgate.port")
        p, port = self.procs.start("tollgate", [self.args.tollgate, "--config", self.cfg,
                                                "--listen", "127.0.0.1:0", "--port-file", pf], pf)
        self.tg_pid = p.pid
        self.tg_port = port
        self.pool = Pool(port)
        self.admin_pool = Pool(port)
        return p

    async def wait_ready(self):
        for _ in range(200):
            try:
                r = await request(self.admin_pool, "GET", "/ready")
                if r.status == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.05)
        raise SystemExit("tollgate is not ready")

    # -- keys
    async def create_key(self, name, usd, limits=None):
        spec = {"name": name, "models": ["chat", "direct", "long"] + [a for a in self.aliases],
                "budget": {"usd": usd, "period": "total"}}
        if limits:
            spec["limits"] = limits
        st, body = await admin(self.admin_pool, "POST", "/admin/keys", spec)
        if st != 200:
            self.note(f"create key {name}: HTTP {st} {body}")
            return None
        return body

    async def churn_keys(self, until):
        n = 0
        while time.monotonic() < until:
            await asyncio.sleep(self.args.key_every)
            if time.monotonic() >= until:
                break
            n += 1
            rec = await self.create_key(f"churn-{n}", 5)
            if rec:
                self.keys[rec["id"]] = {"key": rec["key"], "name": rec["name"], "churn": True}
            churn = [k for k, v in self.keys.items() if v.get("churn")]
            if len(churn) > 3:
                victim = churn[0]
                key = self.keys.pop(victim)["key"]
                st, body = await admin(self.admin_pool, "DELETE", f"/admin/keys/{victim}")
                self.deleted.append((victim, key, st))
                # The revoked key must now get 401 invalid_api_key.
                r = await request(self.pool, "POST", "/v1/chat/completions",
                                  {"Authorization": f"Bearer {key}"}, self.body("chat", False))
                code = error_code(r)
                self.deleted[-1] = (victim, key, st, r.status, code)
                if st != 200 or r.status != 401:
                    self.note(f"deleted key {victim}: DELETE {st}, then a request got {r.status} {code}")

    # -- reloads
    async def reload_cycle(self, until):
        k = 0
        await asyncio.sleep(self.args.reload_every / 2)
        while time.monotonic() < until:
            # (a broken file's fix is itself a file reload, so two reloads already show all three)
            kind = ("broken-then-fixed", "admin", "file")[k % 3]
            k += 1
            try:
                await self.reload_once(kind)
            except Exception as e:  # noqa: BLE001 - keep soaking, report it
                self.note(f"reload ({kind}) failed: {e!r}")
            await asyncio.sleep(self.args.reload_every)

    async def reload_once(self, kind):
        log_path = os.path.join(self.tmp, "tollgate.log")
        before = open(log_path, errors="replace").read().count("configuration reloaded")
        refused_before = open(log_path, errors="replace").read().count("refused")
        if kind == "admin":
            st, body = await admin(self.admin_pool, "POST", "/admin/reload")
            self.note(f"reload via POST /admin/reload: HTTP {st} {body}")
            return
        self.generation += 1
        # A config's model names change now and then, they do not grow for ever: 8 names in turn,
        # the newest 4 in the file (so the name added is never one the file has).
        alias = f"gen-{self.generation % 8}"
        if kind == "broken-then-fixed":
            write_config(self.cfg, self, self.generation, self.aliases + [alias], broken=True)
            try:
                await asyncio.sleep(1.0)
                text = open(log_path, errors="replace").read()
                refused = text.count("refused") > refused_before
                r = await request(self.pool, "POST", "/v1/chat/completions",
                                  {"Authorization": f"Bearer {self.any_key()}"}, self.body(alias, False))
                self.note(f"broken config written: refused={refused}, its new model '{alias}' -> {r.status}"
                          " (the old config keeps serving: 404 or 403 expected)")
            except asyncio.CancelledError:
                # The load ended in the middle: never leave the broken file for the restart of the
                # kill -9 phase (the daemon rightly refuses to start on it).
                write_config(self.cfg, self, self.generation, self.aliases)
                raise
        self.aliases = self.aliases[-3:] + [alias]
        write_config(self.cfg, self, self.generation, self.aliases)
        for _ in range(40):
            await asyncio.sleep(0.1)
            if open(log_path, errors="replace").read().count("configuration reloaded") > before:
                break
        # The new alias routes now (the master key may use any model).
        r = await request(self.pool, "POST", "/v1/chat/completions",
                          {"Authorization": f"Bearer {MASTER}", "x-request-id": f"soak-{self.run}-probe-{self.generation}"},
                          self.body(alias, False))
        self.note(f"config file rewritten (generation {self.generation}): reloaded="
                  f"{open(log_path, errors='replace').read().count('configuration reloaded') > before},"
                  f" new model '{alias}' -> {r.status}")

    # -- faults on the primary upstream
    async def fault_cycle(self, until):
        mp = Pool(self.mock_ports["prime"])
        k = 0
        await asyncio.sleep(5)
        while time.monotonic() < until:
            k += 1
            _, body = await mock_call(mp, "POST", "/__mock/faults",
                                      {"status": 503, "count": -1, "match_path": "/v1/chat/completions"})
            self.prime_faulted = True
            self.note(f"prime upstream down (503 on every request) for {self.args.fault_down}s")
            await asyncio.sleep(self.args.fault_down)
            await mock_call(mp, "DELETE", "/__mock/faults")
            self.prime_faulted = False
            self.note("prime upstream back")
            await asyncio.sleep(self.args.fault_every / 2)
            # A few broken answers: streams cut short or ended with an error, and a reset.
            await mock_call(mp, "POST", "/__mock/faults", [
                {"mode": "drop_mid_stream", "after_events": 4, "count": 5},
                {"mode": "error_mid_stream", "after_events": 3, "count": 5},
                {"mode": "drop", "rst": True, "count": 3}])
            self.note("prime upstream: 5 cut streams, 5 mid-stream errors, 3 resets queued")
            await asyncio.sleep(self.args.fault_every / 2)
        mp.close_all()

    # -- traffic
    def any_key(self):
        ids = [k for k in self.keys if k != self.tiny_key]
        return self.keys[self.rng.choice(ids)]["key"]

    def body(self, model, stream, max_tokens=256):
        words = " ".join(self.rng.choice(VOCAB) for _ in range(self.rng.randint(3, 60)))
        b = {"model": model, "max_tokens": max_tokens,
             "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": words}]}
        if stream:
            b["stream"] = True
            b["stream_options"] = {"include_usage": True}
        return b

    def pick(self):
        x = self.rng.random()
        if x < 0.45:
            return "chat", False, None
        if x < 0.75:
            return "chat", True, None
        if x < 0.83:
            return "direct", False, None
        if x < 0.88:
            return "long", True, None
        return "long", True, self.rng.randint(1, 25)  # hang up after 1..25 events (of 42)

    async def one(self, stats, phase, key_id, key, model, stream, abort_after):
        self.seq += 1
        rid = f"soak-{self.run}-{phase}-{self.seq}"
        rec = {"rid": rid, "key_id": key_id, "model": model, "stream": stream, "t_sent": time.monotonic()}
        stats.records.append(rec)
        self.inflight += 1
        try:
            r = await asyncio.wait_for(
                request(self.pool, "POST", "/v1/chat/completions",
                        {"Authorization": f"Bearer {key}", "x-request-id": rid},
                        self.body(model, stream), stream, abort_after), timeout=60)
        except Exception as e:  # noqa: BLE001 - a reset, a refusal, a timeout, garbage: all counted
            rec["outcome"] = "conn_error"
            rec["error"] = type(e).__name__
            stats.outcomes["conn_error"] += 1
            stats.by_status[f"connection: {type(e).__name__}"] += 1
            return
        finally:
            self.inflight -= 1
        rec["t_done"] = time.monotonic()
        rec["status"] = r.status
        rec["echo"] = r.headers.get("x-request-id")
        rec["provider"] = r.headers.get("x-tollgate-provider")
        rec["upstream_model"] = r.headers.get("x-tollgate-model")
        rec["cost_header"] = r.headers.get("x-tollgate-cost-usd")
        if r.status != 200:
            outcome = f"http_{r.status}"
            stats.by_status[f"{r.status} {error_code(r)}"] += 1
        elif r.aborted:
            outcome = "aborted"
            stats.by_status["200 (client hung up mid-stream)"] += 1
        elif stream and r.stream_error is not None:
            outcome = "stream_error"
            e = r.stream_error
            stats.by_status[f"200 then stream error {e.get('code') or e.get('type')}"] += 1
        elif stream and not r.done:
            outcome = "stream_truncated"
            stats.by_status["200 stream without [DONE] or error"] += 1
        else:
            outcome = "answered"
            stats.by_status["200"] += 1
            if stream:
                rec["usage"] = r.usage
            else:
                try:
                    rec["usage"] = json.loads(r.body).get("usage")
                except ValueError:
                    outcome = "bad_body"
        rec["outcome"] = outcome
        stats.outcomes[outcome] += 1

    async def traffic(self, stats, phase, seconds, rate, stop_event=None):
        t0 = time.monotonic()
        tasks = set()
        i = 0
        while True:
            due = t0 + i / rate
            now = time.monotonic()
            if due - t0 >= seconds or (stop_event and stop_event.is_set()):
                break
            if due > now:
                await asyncio.sleep(due - now)
            stats.lag_ms.append((time.monotonic() - due) * 1000)
            i += 1
            if self.inflight >= self.args.max_inflight:
                stats.not_sent += 1
                continue
            model, stream, abort_after = self.pick()
            if self.tiny_key and self.rng.random() < 0.03:
                key_id = self.tiny_key
            else:
                key_id = self.rng.choice([k for k in self.keys if k != self.tiny_key])
            key = self.keys[key_id]["key"]
            stats.sent += 1
            t = asyncio.ensure_future(self.one(stats, phase, key_id, key, model, stream, abort_after))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=90)

    async def sample_rss(self, until):
        while time.monotonic() < until:
            t = round(time.monotonic() - self.t0)
            self.rss.append((t, rss_kb(self.tg_pid)))
            if not self.rss_parts or t - self.rss_parts[-1][0] >= 30:
                self.rss_parts.append((t, *rss_parts_kb(self.tg_pid)))
            await asyncio.sleep(5)

    # -- the books
    async def all_logs(self, prefix):
        rows, before = [], None
        while True:
            q = "/admin/logs?limit=1000" + (f"&before={before}" if before else "")
            st, body = await admin(self.admin_pool, "GET", q)
            if st != 200:
                raise SystemExit(f"/admin/logs: HTTP {st} {body}")
            rows += [r for r in body["data"] if r["request_id"].startswith(prefix)]
            before = body.get("next_before")
            if not before:
                return rows

    async def settled_logs(self, prefix):
        """The log once the writer has caught up: two reads 300 ms apart with the same rows."""
        last = None
        for _ in range(30):
            await asyncio.sleep(0.3)
            rows = await self.all_logs(prefix)
            if last is not None and len(rows) == len(last):
                return rows
            last = rows
        return last

    def check_rows(self, rows):
        """Per row: recorded cost == tokens x the configured price, rounded once to nano-USD."""
        out = {"rows": len(rows), "rows_priced": 0, "rows_mismatched": 0, "rows_estimated": 0,
               "rows_unpriced_with_tokens": 0, "recorded_nano": 0, "exact_pico": 0,
               "expected_rounded_nano": 0, "tokens_in": 0, "tokens_out": 0, "examples": []}
        for r in rows:
            t = r["tokens"]
            key = f"{r['provider']}/{r['upstream_model']}"
            inp, outp = t["input"], t["output"]
            out["tokens_in"] += inp
            out["tokens_out"] += outp
            if r.get("usage_estimated"):
                out["rows_estimated"] += 1
            if r["cost_nano_usd"] is None:
                if inp or outp:
                    out["rows_unpriced_with_tokens"] += 1
                continue
            out["rows_priced"] += 1
            out["recorded_nano"] += r["cost_nano_usd"]
            if key not in PICO:
                out["rows_mismatched"] += 1
                out["examples"].append({"request_id": r["request_id"], "price_key": key})
                continue
            if t.get("cached") or t.get("cache_write") or t.get("reasoning"):
                # The mock reports none of these; a row with them is wrong in itself.
                out["rows_mismatched"] += 1
                out["examples"].append({"request_id": r["request_id"], "tokens": t})
                continue
            p = cost_pico(key, inp, outp)
            out["exact_pico"] += p
            out["expected_rounded_nano"] += nanos_nearest(p)
            if nanos_nearest(p) != r["cost_nano_usd"]:
                out["rows_mismatched"] += 1
                if len(out["examples"]) < 5:
                    out["examples"].append({"request_id": r["request_id"], "tokens": t, "price_key": key,
                                            "recorded_nano": r["cost_nano_usd"], "expected_nano": nanos_nearest(p)})
        return out

    async def books(self, stats, prefix):
        rows = await self.settled_logs(prefix)
        res = self.check_rows(rows)
        by_rid = {r["request_id"]: r for r in rows}
        # Every key's spend (all time and in its budget period) against its rows.
        st, keys = await admin(self.admin_pool, "GET", "/admin/keys")
        per_key = collections.Counter()
        for r in rows:
            if r["cost_nano_usd"] is not None:
                per_key[r["key_id"]] += r["cost_nano_usd"]
        key_checks = []
        for k in keys.get("data", []):
            if k["id"] not in per_key and k["id"] not in self.keys:
                continue
            budget = k.get("budget") or {}
            key_checks.append({"id": k["id"], "name": k["name"], "spend_nano": k.get("spend_nano_usd"),
                               "budget_nano": int(round(budget["usd"] * 1e9)) if budget.get("usd") is not None else None,
                               "budget_spend_nano": (k.get("budget") or {}).get("spend_nano_usd"),
                               "rows_nano": per_key[k["id"]]})
        res["keys_checked"] = len(key_checks)
        # Every reservation covers the worst case here (max_tokens 256; answers are shorter), so no
        # key may end past its budget, however many requests raced for its last cents.
        res["keys_over_budget"] = [k for k in key_checks
                                   if k["budget_nano"] is not None and (k["spend_nano"] or 0) > k["budget_nano"]]
        # steady-0's rpm: the most requests admitted in any 60 s (by the rows' timestamps, which are
        # taken at the end of a request, so a slow stream may shift by its length; shown, not judged).
        s0 = next((k for k, v in self.keys.items() if v["name"] == "steady-0"), None)
        ts = sorted(r["ts_ms"] for r in rows if r["key_id"] == s0 and r["error_code"] != "rate_limit_exceeded")
        res["rpm_key_admitted"] = len(ts)
        res["rpm_key_max_per_60s"] = max((bisect.bisect_left(ts, t + 60000) - i for i, t in enumerate(ts)),
                                         default=0)
        res["tiny_key"] = next(({"spend_nano": k["spend_nano"], "budget_nano": k["budget_nano"]}
                                for k in key_checks if k["name"] == "tiny"), None)
        res["keys_mismatched"] = [k for k in key_checks
                                  if k["spend_nano"] != k["rows_nano"] or k["budget_spend_nano"] != k["rows_nano"]]
        # The daily rollups (/admin/spend) against every row in the log (probes and deleted keys too).
        st, spend = await admin(self.admin_pool, "GET", "/admin/spend?group_by=key")
        res["admin_spend_total_nano"] = spend.get("total_nano_usd") if isinstance(spend, dict) else None
        res["all_rows_nano"] = sum(r["cost_nano_usd"] or 0 for r in await self.all_logs(""))
        # The client's view against the rows.
        res["client_answered"] = 0
        res["client_answered_without_row"] = []
        res["client_usage_mismatch"] = []
        res["client_cost_header_mismatch"] = 0
        res["requests_without_row"] = collections.Counter()
        res["echo_mismatch"] = 0
        res["aborted_with_row"] = 0
        res["aborted_free"] = 0
        res["aborted_free_examples"] = []
        for rec in stats.records:
            row = by_rid.get(rec["rid"])
            if rec.get("status") is not None and rec.get("echo") != rec["rid"]:
                res["echo_mismatch"] += 1
            if row is None:
                res["requests_without_row"][f"{rec.get('outcome')}" + (f" {rec.get('status')}" if rec.get('status') else "")] += 1
            if rec.get("outcome") == "aborted" and row is not None:
                res["aborted_with_row"] += 1
                if not row["cost_nano_usd"]:
                    res["aborted_free"] += 1
                    if len(res["aborted_free_examples"]) < 3:
                        res["aborted_free_examples"].append({k: row.get(k) for k in (
                            "request_id", "status", "error_code", "tokens", "cost_nano_usd", "usage_estimated")})
            if rec.get("outcome") != "answered":
                continue
            res["client_answered"] += 1
            if row is None:
                res["client_answered_without_row"].append(rec["rid"])
                continue
            u = rec.get("usage") or {}
            if (u.get("prompt_tokens"), u.get("completion_tokens")) != (row["tokens"]["input"], row["tokens"]["output"]):
                res["client_usage_mismatch"].append({"rid": rec["rid"], "client": u, "row": row["tokens"]})
            if rec.get("cost_header") is not None and row["cost_nano_usd"] is not None:
                if int(round(float(rec["cost_header"]) * 1e9)) != row["cost_nano_usd"]:
                    res["client_cost_header_mismatch"] += 1
        res["requests_without_row"] = dict(res["requests_without_row"])
        res["client_usage_mismatch"] = res["client_usage_mismatch"][:5]
        return res, rows

    # -- phases
    async def main_phase(self):
        s = self.args
        self.start_mocks()
        write_config(self.cfg, self, self.generation, self.aliases)
        self.start_tollgate()
        await self.wait_ready()
        self.t0 = time.monotonic()
        rss_idle = rss_kb(self.tg_pid)
        for i in range(s.keys):
            # steady-0 also has rate limits, which its share of the traffic goes over now and then.
            rec = await self.create_key(f"steady-{i}", 100, {"rpm": 1200, "parallel": 20} if i == 0 else None)
            self.keys[rec["id"]] = {"key": rec["key"], "name": rec["name"]}
        rec = await self.create_key("tiny", 0.002)  # runs out: 429 budget_exceeded from then on
        self.tiny_key = rec["id"]
        self.keys[rec["id"]] = {"key": rec["key"], "name": rec["name"]}
        self.note(f"tollgate pid {self.tg_pid} on port {self.tg_port}; {s.keys} budgeted keys ($100; steady-0"
                  " also rpm 1200, parallel 20) + 'tiny' ($0.002)"
                  f"; RSS idle {rss_idle} kB; {s.minutes} min at {s.rate} req/s")
        stats = Stats()
        seconds = s.minutes * 60
        until = time.monotonic() + seconds
        churn = [asyncio.ensure_future(c) for c in (
            self.churn_keys(until), self.reload_cycle(until), self.fault_cycle(until), self.sample_rss(until))]
        await self.traffic(stats, "m", seconds, s.rate)
        for c in churn:
            c.cancel()
        await asyncio.gather(*churn, return_exceptions=True)
        # Leave prime healthy, let the in-flight requests end and the writer catch up.
        mp = Pool(self.mock_ports["prime"])
        await mock_call(mp, "DELETE", "/__mock/faults")
        mp.close_all()
        await asyncio.sleep(1.0)
        rss_end = rss_kb(self.tg_pid)
        anon_end, file_end = rss_parts_kb(self.tg_pid)
        self.note("load stopped; reading the books")
        books, rows = await self.books(stats, f"soak-{self.run}-m-")
        rss_warm = next((kb for t, kb in self.rss if t >= 10), self.rss[0][1] if self.rss else rss_idle)
        rss_60 = next((kb for t, kb in self.rss if t >= 60), None)
        return {
            "minutes": s.minutes, "rate": s.rate,
            "sent": stats.sent, "not_sent_over_max_inflight": stats.not_sent,
            "send_lag_ms": lag_summary(stats.lag_ms),
            "outcomes": dict(stats.outcomes), "by_status": dict(stats.by_status.most_common()),
            "rss_kb": {"idle_at_start": rss_idle, "after_10s": rss_warm, "end": rss_end,
                       "drift_pct_vs_idle": round(100.0 * (rss_end - rss_idle) / rss_idle, 1),
                       "drift_pct_vs_10s": round(100.0 * (rss_end - rss_warm) / rss_warm, 1),
                       "after_60s": rss_60,
                       "drift_pct_vs_60s": round(100.0 * (rss_end - rss_60) / rss_60, 1) if rss_60 else None,
                       "samples": self.rss,
                       "anon_end": anon_end, "file_end": file_end,
                       "anon_file_samples": self.rss_parts},
            "keys_created": s.keys + 1 + len(self.deleted) + len([k for k in self.keys if self.keys[k].get("churn")]),
            "keys_deleted": len(self.deleted),
            # (a probe still in flight when the load stopped has no answer: not counted)
            "deleted_key_probes": [d[3:] for d in self.deleted if len(d) == 5],
            "books": books,
            "churn": self.events,
        }

    async def kill9_phase(self):
        s = self.args
        stats = Stats()
        stop = asyncio.Event()
        self.note(f"kill -9 phase: {s.kill_after}s of load at {s.rate} req/s, then SIGKILL")
        load = asyncio.ensure_future(self.traffic(stats, "k", s.kill_after + 2, s.rate, stop))
        await asyncio.sleep(s.kill_after)
        t_kill = time.monotonic()
        p = self.procs.pids["tollgate"]
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        self.procs.pids.pop("tollgate")
        self.note(f"SIGKILL sent to tollgate pid {p.pid}")
        await asyncio.sleep(1.0)
        stop.set()
        await load
        self.pool.close_all()
        self.admin_pool.close_all()
        self.start_tollgate()
        await self.wait_ready()
        self.note(f"restarted on the same database: pid {self.tg_pid}")
        rows = await self.settled_logs(f"soak-{self.run}-k-")
        by_rid = {r["request_id"]: r for r in rows}
        answered = [r for r in stats.records if r.get("outcome") == "answered" and r["t_done"] <= t_kill]
        lost = [r for r in answered if r["rid"] not in by_rid]
        lost_nano = 0
        unpriced = 0
        for r in lost:
            key = f"{r.get('provider')}/{r.get('upstream_model')}"
            u = r.get("usage") or {}
            if key in PICO and u:
                lost_nano += nanos_nearest(cost_pico(key, u["prompt_tokens"], u["completion_tokens"]))
            else:
                unpriced += 1
        answered_nano = 0
        for r in answered:
            key = f"{r.get('provider')}/{r.get('upstream_model')}"
            u = r.get("usage") or {}
            if key in PICO and u:
                answered_nano += nanos_nearest(cost_pico(key, u["prompt_tokens"], u["completion_tokens"]))
        # After the restart the ledger is rebuilt from the store: each key's spend == its rows
        # (over the whole run: both phases).
        all_rows = await self.all_logs(f"soak-{self.run}-")
        per_key = collections.Counter()
        for r in all_rows:
            if r["cost_nano_usd"] is not None:
                per_key[r["key_id"]] += r["cost_nano_usd"]
        st, keys = await admin(self.admin_pool, "GET", "/admin/keys")
        mismatched = [{"id": k["id"], "spend_nano": k.get("spend_nano_usd"), "rows_nano": per_key[k["id"]]}
                      for k in keys.get("data", []) if k.get("spend_nano_usd") != per_key[k["id"]]]
        return {
            "load_seconds_before_kill": s.kill_after, "rate": s.rate, "sent": stats.sent,
            "outcomes": dict(stats.outcomes),
            "answered_before_kill": len(answered), "rows_for_them": len(answered) - len(lost),
            "rows_lost": len(lost), "spend_answered_nano": answered_nano, "spend_lost_nano": lost_nano,
            "lost_unpriced": unpriced,
            "lost_answer_ages_ms": sorted(round((t_kill - r["t_done"]) * 1000) for r in lost),
            "rows_in_log_for_phase": len(rows),
            "rows_without_client_answer": len([r for r in rows if r["request_id"] not in
                                               {a["rid"] for a in answered}]),
            "keys_spend_vs_rows_after_restart_mismatched": mismatched,
        }


def lag_summary(lags):
    if not lags:
        return {}
    v = sorted(lags)
    return {"p50": round(v[len(v) // 2], 2), "p99": round(v[int(len(v) * 0.99)], 2), "max": round(v[-1], 2)}


def error_code(r):
    try:
        e = json.loads(r.body).get("error") or {}
        return e.get("code") or e.get("type") or ""
    except (ValueError, AttributeError):
        return ""


async def mock_call(pool, method, path, body=None):
    r = await request(pool, method, path, None, body)
    return r.status, r.body


async def amain(args):
    soak = Soak(args)
    result = {"tollgate_bin": args.tollgate, "mock_bin": args.mock}
    try:
        result["soak"] = await soak.main_phase()
        if args.kill9:
            try:
                result["kill9"] = await soak.kill9_phase()
            except SystemExit as e:  # the restart failed: a FAIL in the summary, not a lost run
                result["kill9_failed"] = str(e)
        # Lines at error or critical level ("<time> <level> <message>"); the broken config's
        # refusal is expected among them.
        result["tollgate_log_errors"] = [l.strip() for l in open(os.path.join(args.tmp, "tollgate.log"),
                                                                  errors="replace")
                                         if l.split(" ", 2)[1:2] in (["error"], ["critical"])][:20]
    finally:
        soak.procs.stop_all()
    return result


def usd(nano):
    return f"${nano / 1e9:.9f}"


def render(res):
    """The human summary (markdown), with a verdict per check."""
    out = []
    s = res["soak"]
    b = s["books"]
    o = s["outcomes"]
    out.append(f"## Soak: {s['minutes']:g} min at {s['rate']:g} req/s (open loop)\n")
    lag = s["send_lag_ms"]
    out.append(f"- requests sent: {s['sent']:,} (not sent, over the in-flight cap: {s['not_sent_over_max_inflight']};"
               f" sends behind schedule p50 {lag.get('p50')} ms, p99 {lag.get('p99')} ms, max {lag.get('max')} ms)")
    out.append(f"- answered in full: {o.get('answered', 0):,}; streams the client hung up on: {o.get('aborted', 0):,};"
               f" streams ended by an error event: {o.get('stream_error', 0):,};"
               f" streams cut without [DONE] or error: {o.get('stream_truncated', 0):,};"
               f" connection errors: {o.get('conn_error', 0):,}")
    out.append("- by status (the client's view):")
    for k, v in s["by_status"].items():
        out.append(f"  - `{k}`: {v:,}")
    r = s["rss_kb"]
    out.append(f"- RSS: {r['idle_at_start']:,} kB idle at start, {r['after_10s']:,} kB after 10 s of load,"
               f" {r['end']:,} kB at the end: drift {r['drift_pct_vs_10s']:+.1f} % (vs 10 s),"
               f" {r['drift_pct_vs_idle']:+.1f} % (vs idle)"
               + (f"; {r['after_60s']:,} kB after 1 min: drift since then {r['drift_pct_vs_60s']:+.1f} %"
                  if r.get("after_60s") else ""))
    out.append("  - samples (s: kB): " + ", ".join(f"{t}: {kb:,}" for t, kb in r["samples"] if t % 30 == 0))
    if r.get("anon_file_samples"):
        first = next((p for p in r["anon_file_samples"] if p[0] >= 60), r["anon_file_samples"][0])
        out.append(f"  - anonymous / file-backed: {first[1]:,} / {first[2]:,} kB at {first[0]} s,"
                   f" {r['anon_end']:,} / {r['file_end']:,} kB at the end (the heap and the allocator's"
                   " pages / the binary and its libraries)")
    out.append(f"- churn: {s['keys_created']} keys created, {s['keys_deleted']} deleted"
               f" (then {sum(1 for d in s['deleted_key_probes'] if d[0] == 401)}/{len(s['deleted_key_probes'])}"
               f" probes with the deleted key got 401), {len(s['churn'])} events:")
    for t, text in s["churn"]:
        out.append(f"  - {t:7.1f} s {text}")
    exact_nano = b["exact_pico"] / 1000
    checks = [
        ("every priced row: cost_nano_usd == round(tokens x price)", b["rows_mismatched"] == 0,
         f"{b['rows_priced']:,} priced rows of {b['rows']:,}, {b['rows_mismatched']} mismatched"
         f"; {b['rows_unpriced_with_tokens']} rows with tokens but no cost; {b['rows_estimated']} estimated (usage never came)"),
        ("sum of recorded cost == sum of per-row expected (nano-USD, exact)",
         b["recorded_nano"] == b["expected_rounded_nano"],
         f"recorded {b['recorded_nano']:,} nUSD ({usd(b['recorded_nano'])}), expected {b['expected_rounded_nano']:,} nUSD"),
        ("sum of recorded cost vs sum tokens x price (unrounded)",
         abs(b["recorded_nano"] - exact_nano) <= 0.5 * max(b["rows_priced"], 1),
         f"{b['tokens_in']:,} input + {b['tokens_out']:,} output tokens x price = {exact_nano:,.3f} nUSD;"
         f" recorded - exact = {b['recorded_nano'] - exact_nano:+.3f} nUSD"
         f" (bound: 0.5 nUSD x {b['rows_priced']:,} rows)"),
        ("each key's spend_nano_usd and budget spend == the sum of its rows", not b["keys_mismatched"],
         f"{b['keys_checked']} keys checked; mismatched: {b['keys_mismatched'] or 'none'}"),
        ("no key spent past its budget", not b["keys_over_budget"],
         f"over: {b['keys_over_budget'] or 'none'}; 'tiny' spent {b['tiny_key']['spend_nano']:,} of"
         f" {b['tiny_key']['budget_nano']:,} nUSD" if b.get("tiny_key") else ""),
        ("/admin/spend total == the sum over every row in the log",
         b["admin_spend_total_nano"] == b["all_rows_nano"],
         f"/admin/spend {b['admin_spend_total_nano']}, rows {b['all_rows_nano']}"),
        ("every request answered in full has its row", not b["client_answered_without_row"],
         f"{b['client_answered']:,} answered; without a row: {b['client_answered_without_row'][:5] or 'none'}"),
        ("the client's usage == the row's tokens", not b["client_usage_mismatch"],
         f"mismatches: {b['client_usage_mismatch'] or 'none'}; x-tollgate-cost-usd != row: {b['client_cost_header_mismatch']}"),
        ("x-request-id echoed", b["echo_mismatch"] == 0, f"{b['echo_mismatch']} not echoed"),
        ("a stream the client hung up on is charged (estimated if the usage never came)", b["aborted_free"] == 0,
         f"{b['aborted_with_row']:,} hung-up streams logged, {b['aborted_free']} of them at $0 or no cost"
         + (f": {b['aborted_free_examples']}" if b["aborted_free_examples"] else "")),
    ]
    out.append(f"- rate limit: 'steady-0' (rpm 1200) had {b['rpm_key_admitted']:,} requests admitted, at most"
               f" {b['rpm_key_max_per_60s']:,} in any 60 s (by the log rows' timestamps)")
    out.append("\n### The books\n")
    out.append(f"Requests without a row in the log, by the client's outcome: {b['requests_without_row'] or 'none'}\n")
    if res.get("kill9"):
        checks.append(("after the restart, each key's spend == the sum of its rows",
                       not res["kill9"]["keys_spend_vs_rows_after_restart_mismatched"], ""))
    if res.get("kill9_failed"):
        checks.append(("the daemon restarted after the kill -9", False, res["kill9_failed"]))
    res["all_checks_pass"] = all(ok for _, ok, _ in checks)
    for name, ok, detail in checks:
        out.append(f"- **{'PASS' if ok else 'FAIL'}** {name}: {detail}")
    k = res.get("kill9")
    if k:
        ages = k["lost_answer_ages_ms"]
        out.append(f"\n## kill -9 under load\n")
        out.append(f"- {k['sent']:,} requests at {k['rate']:g} req/s; SIGKILL after {k['load_seconds_before_kill']:g} s;"
                   f" outcomes {k['outcomes']}")
        out.append(f"- answered before the kill: {k['answered_before_kill']:,} ({usd(k['spend_answered_nano'])});"
                   f" rows found after the restart: {k['rows_for_them']:,}")
        out.append(f"- **rows lost: {k['rows_lost']}**, spend lost {usd(k['spend_lost_nano'])}"
                   + (f"; the lost answers had completed {min(ages)}..{max(ages)} ms before the kill" if ages else ""))
        out.append(f"- rows of this phase in the log: {k['rows_in_log_for_phase']:,}"
                   f" ({k['rows_without_client_answer']:,} for requests the client did not see answered:"
                   " cut by the kill, aborted, or failed)")
        out.append(f"- after the restart, each key's spend == the sum of its rows:"
                   f" {'PASS' if not k['keys_spend_vs_rows_after_restart_mismatched'] else 'FAIL ' + str(k['keys_spend_vs_rows_after_restart_mismatched'])}")
    if res.get("tollgate_log_errors"):
        out.append("\nError lines in the daemon's log (first 20):\n")
        out += [f"    {l[:300]}" for l in res["tollgate_log_errors"]]
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--keys", type=int, default=6)
    ap.add_argument("--reload-every", type=float, default=60)
    ap.add_argument("--key-every", type=float, default=5)
    ap.add_argument("--fault-every", type=float, default=20)
    ap.add_argument("--fault-down", type=float, default=5)
    ap.add_argument("--max-inflight", type=int, default=1000)
    ap.add_argument("--kill9", action="store_true")
    ap.add_argument("--kill-after", type=float, default=8)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--tollgate", required=True)
    ap.add_argument("--mock", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    def on_term(signum, _frame):  # unwind, so the finally in amain stops what was started here
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    try:
        result = asyncio.run(amain(args))
    except KeyboardInterrupt:
        log("interrupted; the processes started here are stopped")
        sys.exit(130)
    text = render(result)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write(text)
    print(text)
    sys.exit(0 if result.get("all_checks_pass") else 1)


if __name__ == "__main__":
    main()
