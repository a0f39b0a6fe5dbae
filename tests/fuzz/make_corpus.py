#!/usr/bin/env python3
"""Writes the seed corpora (tests/fuzz/corpus/<target>/seed_*) from the golden fixtures.

Run it again after changing tests/fixtures; it only rewrites files named seed_*, so the
crashers and the inputs libFuzzer found (committed under other names) stay.
"""
import hashlib
import json
import pathlib
import struct
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
OUT = ROOT / "tests" / "fuzz" / "corpus"

# Members of the fixture files that hold a document an adapter reads from outside.
REQUEST_KEYS = {"openai", "request", "openai_request"}
ANSWER_KEYS = {"anthropic", "converse", "body", "response", "gemini", "upstream"}


def dump(doc):
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def members(doc, keys, depth=0):
    """Every value under one of `keys`, at any depth up to 4 (strings that hold JSON parsed)."""
    if depth > 4:
        return
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in keys:
                if isinstance(v, str):
                    try:
                        v = json.loads(v)
                    except ValueError:
                        yield v.encode()
                        continue
                if isinstance(v, (dict, list)):
                    yield dump(v)
            yield from members(v, keys, depth + 1)
    elif isinstance(doc, list):
        for v in doc:
            yield from members(v, keys, depth + 1)


def frames(case_frames):
    """application/vnd.amazon.eventstream frames (string headers), as the Bedrock mock writes."""
    out = b""
    for f in case_frames:
        headers = b""
        for name, value in f.get("headers", {}).items():
            n, v = name.encode(), str(value).encode()
            headers += bytes([len(n)]) + n + bytes([7]) + struct.pack(">H", len(v)) + v
        payload = dump(f.get("payload", {}))
        total = 12 + len(headers) + len(payload) + 4
        prelude = struct.pack(">II", total, len(headers))
        prelude += struct.pack(">I", zlib.crc32(prelude))
        body = prelude + headers + payload
        out += body + struct.pack(">I", zlib.crc32(body))
    return out


def schemas(doc):
    """Every tool "parameters" / "input_schema" JSON Schema."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in ("parameters", "input_schema", "schema") and isinstance(v, dict):
                yield dump(v)
            yield from schemas(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from schemas(v)


def load(path):
    return json.loads(path.read_text())


def json_files(provider):
    return sorted((FIX / provider).glob("*.json"))


def sse_files(*providers):
    return [p.read_bytes() for pr in providers for p in sorted((FIX / pr).glob("*.sse"))]


def write(target, inputs):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed_*"):
        old.unlink()
    seen = set()
    for data in inputs:
        h = hashlib.sha1(data).hexdigest()[:12]
        if h in seen or len(data) > 64 * 1024:
            continue
        seen.add(h)
        (d / f"seed_{h}").write_bytes(data)
    print(f"{target}: {len(seen)} seeds")


def provider_inputs(*providers):
    out = []
    for pr in providers:
        for p in json_files(pr):
            doc = load(p)
            out += list(members(doc, REQUEST_KEYS | ANSWER_KEYS))
            if isinstance(doc, dict) and "comment" not in doc:
                out.append(dump(doc))  # whole-document fixtures (gemini's *.gemini.json)
    out += sse_files(*providers)
    return out


def main():
    all_providers = ["anthropic", "azure", "bedrock", "compatible", "gemini"]
    streams = sse_files(*all_providers)
    bedrock_streams = [frames(c["frames"]) for c in load(FIX / "bedrock" / "streams.json")]
    requests = [x for pr in all_providers for p in json_files(pr) for x in members(load(p), REQUEST_KEYS)]
    answers = [x for pr in all_providers for p in json_files(pr) for x in members(load(p), ANSWER_KEYS)]

    write("sse", streams)
    write("bedrock_eventstream", bedrock_streams)
    write("json_scan", requests + answers)
    usages = [x for pr in all_providers for p in json_files(pr) for x in members(load(p), {"usage"})]
    write("json_validate", answers + usages + [s.encode() for s in [
        '{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}',
        '{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21,"prompt_tokens_details":'
        '{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":4}}',
        '{"prompt_tokens":5,"completion_tokens":3,"total_tokens":10,'
        '"completion_tokens_details":{"reasoning_tokens":2}}',                    # xAI
        '{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8,"prompt_cache_hit_tokens":4}',
        '{"prompt_tokens":5,"completion_tokens":3}',                               # no total
        '{"prompt_tokens":5,"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}',
        '{"prompt\\u005ftokens":5,"completion_tokens":1,"total_tokens":6}',
        '{"prompt_tokens":9223372036854775808,"completion_tokens":1,"total_tokens":1}',
        '{"prompt_tokens":-1,"completion_tokens":1.5,"total_tokens":1e2}',
        '\ufeff{"a":[1,-0,0.5,1E+3,true,false,null,"\\ud83d\\ude00 \\n \u00e9"]}',
        '{"a":"\\ud800"}', '{"a":"\\udc00x"}', '[01]', '[1.]', '{"a":1,}', '"\x7f"',
        '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
    ]])
    anthropic_in = [(FIX / "anthropic" / "ingress_request_claude_code.json").read_bytes(),
                    (FIX / "anthropic" / "ingress_response.json").read_bytes()]
    anthropic_in += list(members(load(FIX / "anthropic" / "ingress_response.json"), {"openai"}))
    write("anthropic_ingress", anthropic_in + sse_files("compatible", "azure") + answers[:40])
    write("gemini_schema", [x for pr in all_providers for p in json_files(pr) for x in schemas(load(p))])
    configs = [p.read_bytes() for p in sorted((ROOT / "config").glob("*.yaml"))]
    configs += [p.read_bytes() for p in sorted((ROOT / "docker").rglob("*.yaml"))]
    for md in sorted((ROOT / "docs").rglob("*.md")):  # the yaml examples in the docs
        parts = md.read_text().split("```yaml\n")[1:]
        configs += [part.split("```")[0].encode() for part in parts]
    write("config", configs)
    write("config_units", [s.encode() for s in
                           ["16MiB", "512KB", "1048576", "30s", "250ms", "5m", "1h", "1500", "1.5GiB",
                            "${OPENAI_API_KEY}", "${X:-default}", "$$literal", "${SET:-}${UNSET}"]])
    write("admin_api", [dump(x) for x in [
        {"name": "ci", "team": "t1", "budget": {"usd": 10, "period": "monthly"},
         "models": ["gpt-4o"], "rpm": 60, "tpm": 100000, "parallel": 4, "expires_at": 1790000000},
        {"name": "t2", "budget": {"usd": 0.5, "period": "total"}},
        {"enabled": False}, {"budget": None}, {"team": None, "metadata": {"a": "b"}}]])
    write("provider_openai", provider_inputs("compatible", "azure") + requests)
    write("provider_compatible", provider_inputs("compatible"))
    write("provider_azure", provider_inputs("azure"))
    write("provider_anthropic", provider_inputs("anthropic") + [streams[0]])
    write("provider_gemini", provider_inputs("gemini"))
    write("provider_bedrock", provider_inputs("bedrock") + bedrock_streams)


if __name__ == "__main__":
    main()
