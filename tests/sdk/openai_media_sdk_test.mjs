// The openai npm SDK's media calls against Tollgate (and tollgate-mock behind it): an audio
// upload, speech streamed as it is produced, image generation, moderation.
// Usage: node openai_media_sdk_test.mjs <base_url> <api_key>
import OpenAI, { toFile } from "openai";
import assert from "node:assert/strict";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

// A 2-second 8 kHz 8-bit mono WAV.
function wav(seconds) {
  const data = 8000 * seconds;
  const b = Buffer.alloc(44 + data, 0x80);
  b.write("RIFF", 0); b.writeUInt32LE(36 + data, 4); b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24); b.writeUInt32LE(8000, 28); b.writeUInt16LE(1, 32); b.writeUInt16LE(8, 34);
  b.write("data", 36); b.writeUInt32LE(data, 40);
  return b;
}

// audio.transcriptions.create with a file (multipart upload through the gateway).
const audio = wav(2);
const transcript = await client.audio.transcriptions.create({
  model: "whisper-sdk",
  file: await toFile(audio, "kitchen-note.wav", { type: "audio/wav" }),
  response_format: "verbose_json",
});
assert.equal(transcript.text, `Transcript of kitchen-note.wav (${audio.length} bytes).`);
assert.equal(transcript.duration, 2);
const plain = await client.audio.transcriptions.create({
  model: "whisper-sdk",
  file: await toFile(audio, "a.wav"),
  response_format: "text",
});
assert.equal(String(plain).trim(), `Transcript of a.wav (${audio.length} bytes).`);

// audio.speech.create: the bytes stream through, the first arriving before the last is sent.
const speech = await client.audio.speech.create({
  model: "voice-sdk",
  voice: "alloy",
  input: "Dinner is ready in ten minutes.",
  response_format: "wav",
});
assert.equal(speech.headers.get("content-type"), "audio/wav");
const reader = speech.body.getReader();
const parts = [];
let first = 0, last = 0;
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  const now = performance.now();
  if (!first) first = now;
  last = now;
  parts.push(Buffer.from(value));
}
const bytes = Buffer.concat(parts);
assert.equal(bytes.subarray(0, 4).toString(), "RIFF");
assert.equal(bytes.subarray(8, 12).toString(), "WAVE");
assert.ok(parts.length >= 2, `audio came in pieces (${parts.length})`);
assert.ok(last - first >= 60, `first bytes before the end (${(last - first).toFixed(0)} ms apart)`);

// images.generate: a 1x1 PNG as base64.
const img = await client.images.generate({ model: "painter-sdk", prompt: "a lighthouse", n: 2, response_format: "b64_json" });
assert.equal(img.data.length, 2);
assert.equal(Buffer.from(img.data[0].b64_json, "base64").subarray(1, 4).toString(), "PNG");

// moderations.create: categories from keywords.
const mod = await client.moderations.create({ input: ["how to kill a stuck process", "a cup of tea"] });
assert.equal(mod.results.length, 2);
assert.equal(mod.results[0].flagged, true);
assert.equal(mod.results[0].categories.violence, true);
assert.equal(mod.results[1].flagged, false);

// A refusal surfaces as the SDK's typed error.
await assert.rejects(
  client.audio.transcriptions.create({ model: "no-such-model", file: await toFile(audio, "a.wav") }),
  (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found",
);
console.log("openai-node SDK media: all checks passed");
