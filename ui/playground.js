// Playground: a chat through the gateway, streamed (fetch + SSE parsing), as the session (master
// key) or as a pasted virtual key; shows the answer, tokens, cost and the x-tollgate-* headers.
import { h, replace, field, select } from './dom.js';
import { get, qs, authHeaders, ApiError } from './api.js';
import { money, int, ms } from './format.js';

// The playground's endpoint: the UI's alias (on the admin port when server.admin_listen is set),
// else the API's own route. Learnt on the first send.
let chatPath = null;
const ALIAS = '/ui/api/chat/completions';
const API = '/v1/chat/completions';

const conversation = [];  // kept while the tab lives, so switching pages does not lose the chat

// Splits an SSE byte stream into `data:` payloads. Returns the unparsed tail.
export function sseEvents(buffer, onData) {
  const text = buffer.replace(/\r\n/g, '\n');
  let start = 0;
  for (let end; (end = text.indexOf('\n\n', start)) !== -1; start = end + 2) {
    const data = text.slice(start, end).split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n');
    if (data) onData(data);
  }
  return text.slice(start);
}

async function send(path, body, keyMode, pasted, signal) {
  const headers = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (keyMode === 'virtual') headers.authorization = `Bearer ${pasted}`;
  else Object.assign(headers, authHeaders('POST'));
  return fetch(path, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin', signal, cache: 'no-store' });
}

export async function render(main) {
  // The configured model names (from the admin API: /v1/models is not served on the admin port).
  const prov = await get('/admin/providers').catch(() => null);
  const names = prov ? prov.models.map((m) => m.name) : [];
  const modelSel = names.length
    ? select(names.map((m) => [m, m]), names[0], { name: 'model' })
    : h('input', { type: 'text', name: 'model', placeholder: 'model name' });
  const session = h('input', { type: 'radio', name: 'keymode', value: 'session', checked: true });
  const virtual = h('input', { type: 'radio', name: 'keymode', value: 'virtual' });
  const pasted = h('input', { type: 'password', autocomplete: 'off', placeholder: 'sk-tg-…', disabled: true, spellcheck: 'false' });
  const toggle = () => {
    pasted.disabled = !virtual.checked;
    pastedField.hidden = !virtual.checked;
    if (virtual.checked) pasted.focus();
  };
  session.addEventListener('change', toggle);
  virtual.addEventListener('change', toggle);
  const pastedField = field('Virtual key', pasted, 'Used for this page only; never stored');
  pastedField.hidden = true;
  const system = h('input', { type: 'text', placeholder: 'optional' });
  const maxTokens = h('input', { type: 'text', inputmode: 'numeric', value: '512', size: 6 });
  const stream = h('input', { type: 'checkbox', checked: true });
  const prompt = h('textarea', { rows: 3, required: true, placeholder: 'Ask something…' });
  const sendBtn = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const stopBtn = h('button', { type: 'button', disabled: true }, 'Stop');
  const clearBtn = h('button', { type: 'button', class: 'ghost' }, 'New chat');
  const log = h('div', { class: 'chat', 'aria-live': 'polite', id: 'chat' });
  const meta = h('section', { class: 'card meta', 'aria-label': 'Last response' }, h('h2', {}, 'Last response'), h('p', { class: 'muted' }, 'Nothing sent yet.'));

  const form = h('form', { class: 'card form', 'aria-label': 'Chat settings' },
    h('div', { class: 'row' }, field('Model', modelSel), field('Max tokens', maxTokens),
      h('div', { class: 'field' }, h('label', {}, stream, ' Stream'))),
    h('fieldset', {}, h('legend', {}, 'Send as'),
      h('label', { class: 'inline' }, session, ' this session (master key)'),
      h('label', { class: 'inline' }, virtual, ' a virtual key'),
      pastedField),
    field('System prompt', system),
    log,
    field('Message', prompt),
    h('div', { class: 'actions' }, clearBtn, stopBtn, sendBtn));
  main.append(h('div', { class: 'play' }, form, meta));

  const bubble = (role, text) => h('div', { class: `msg ${role}` }, h('span', { class: 'who' }, role === 'user' ? 'You' : role === 'assistant' ? 'Assistant' : 'Error'), h('div', { class: 'text' }, text));
  const redraw = () => replace(log, conversation.map((m) => bubble(m.role, m.content)));
  redraw();
  clearBtn.addEventListener('click', () => { conversation.length = 0; redraw(); prompt.focus(); });
  prompt.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) form.requestSubmit(); });

  let controller = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = prompt.value.trim();
    if (!text) return;
    if (virtual.checked && !pasted.value.trim()) { pasted.focus(); return; }
    const messages = [];
    if (system.value.trim()) messages.push({ role: 'system', content: system.value.trim() });
    messages.push(...conversation.filter((m) => m.role !== 'error'), { role: 'user', content: text });
    const body = { model: modelSel.value, messages };
    const mt = Number(maxTokens.value);
    if (Number.isInteger(mt) && mt > 0) body.max_tokens = mt;
    if (stream.checked) { body.stream = true; body.stream_options = { include_usage: true }; }
    conversation.push({ role: 'user', content: text });
    prompt.value = '';
    redraw();
    const answer = h('div', { class: 'text' });
    const msgEl = h('div', { class: 'msg assistant streaming' }, h('span', { class: 'who' }, 'Assistant'), answer);
    log.append(msgEl);
    sendBtn.disabled = true; stopBtn.disabled = false;
    controller = new AbortController();
    stopBtn.onclick = () => controller.abort();
    const t0 = performance.now();
    let ttft = null;
    let usage = null;
    let content = '';
    let res;
    try {
      const mode = virtual.checked ? 'virtual' : 'session';
      res = await send(chatPath || ALIAS, body, mode, pasted.value.trim(), controller.signal);
      if (!chatPath) {
        if (res.status === 404 && (await res.clone().json().catch(() => null))?.error?.code === 'not_found') {
          chatPath = API;
          res = await send(chatPath, body, mode, pasted.value.trim(), controller.signal);
        } else chatPath = ALIAS;
      }
      const type = res.headers.get('content-type') || '';
      if (!res.ok) {
        const err = await res.json().catch(() => null);
        throw new ApiError(res.status, err);
      }
      if (type.includes('text/event-stream')) {
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf = sseEvents(buf + dec.decode(value, { stream: true }), (data) => {
            if (data === '[DONE]') return;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new ApiError(500, chunk);
            if (chunk.usage) usage = chunk.usage;
            const delta = chunk.choices?.[0]?.delta?.content;
            if (delta) {
              if (ttft === null) ttft = performance.now() - t0;
              content += delta;
              answer.textContent = content;
            }
          });
        }
      } else {
        const j = await res.json();
        usage = j.usage || null;
        content = j.choices?.[0]?.message?.content ?? '';
        answer.textContent = content;
      }
      conversation.push({ role: 'assistant', content });
    } catch (e) {
      const msg = e.name === 'AbortError' ? 'Stopped.' : e instanceof ApiError ? `${e.status}: ${e.message}` : e.message;
      if (content) conversation.push({ role: 'assistant', content });
      conversation.push({ role: 'error', content: msg });
    } finally {
      const total = performance.now() - t0;
      sendBtn.disabled = false; stopBtn.disabled = true;
      redraw();
      if (res) showMeta(res, usage, ttft, total);
      prompt.focus();
    }
  });

  async function showMeta(res, usage, ttft, total) {
    const headers = [...res.headers.entries()].filter(([k]) => k.startsWith('x-tollgate-') || k.startsWith('x-ratelimit-') || k === 'x-request-id');
    const costCell = h('dd', { id: 'play-cost' }, res.headers.get('x-tollgate-cost-usd') ? `$${res.headers.get('x-tollgate-cost-usd')}` : '…');
    replace(meta,
      h('h2', {}, 'Last response'),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Status'), h('dd', {}, String(res.status)),
        h('dt', {}, 'Time to first token'), h('dd', {}, ms(ttft)),
        h('dt', {}, 'Total time'), h('dd', {}, ms(total)),
        h('dt', {}, 'Tokens'), h('dd', { id: 'play-tokens' }, usage ? `${int(usage.prompt_tokens)} in · ${int(usage.completion_tokens)} out` : '—'),
        h('dt', {}, 'Cost'), costCell),
      h('h3', {}, 'Headers'),
      headers.length ? h('dl', { class: 'kv mono', id: 'play-headers' }, headers.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
        : h('p', { class: 'muted' }, 'No x-tollgate-* headers.'));
    // A stream's cost is known only once it ends: the request log has it, exact, in nano-USD.
    const rid = res.headers.get('x-request-id');
    if (!rid || !res.ok) { if (costCell.textContent === '…') costCell.textContent = '—'; return; }
    for (let i = 0; i < 6; i++) {
      const rows = await get('/admin/logs' + qs({ limit: 20 })).catch(() => null);
      const row = rows?.data.find((r) => r.request_id === rid);
      if (row) { costCell.textContent = money(row.cost_nano_usd, { precise: true }); return; }
      await new Promise((r) => setTimeout(r, 250));
    }
    if (costCell.textContent === '…') costCell.textContent = '—';
  }
}
