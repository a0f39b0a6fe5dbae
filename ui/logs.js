// Request log: filters (kept in the URL hash, so a key's "Requests" link lands filtered), pages of
// 50 newest first (?before=<id> cursors), and one row's detail (GET /admin/logs/{id}).
import { h, replace, field, select, modal } from './dom.js';
import { get, qs, ApiError } from './api.js';
import { money, int, ms, dateTime } from './format.js';

const PAGE = 50;
const FILTERS = ['key', 'team', 'model', 'provider', 'status', 'since', 'until'];

function statusBadge(st) {
  const cls = st < 300 ? 'good' : st < 500 ? 'warn' : 'bad';
  return h('span', { class: `badge ${cls}` }, String(st));
}

// datetime-local value <-> unix ms
const toLocalInput = (t) => {
  if (!t) return '';
  const d = new Date(Number(t));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};
const fromLocalInput = (v) => (v ? String(new Date(v).getTime()) : '');

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

function bodyBlock(title, text) {
  if (text === undefined || text === null) return null;
  let shown = text;
  try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON: show as is */ }
  return h('details', { class: 'body' }, h('summary', {}, title), h('pre', {}, shown));
}

async function openRow(row) {
  let r = row;
  try { r = await get(`/admin/logs/${encodeURIComponent(row.id)}`); } catch (e) {
    if (!(e instanceof ApiError) || e.status === 401) throw e;  // older daemon: the list row has most of it
  }
  const t = r.tokens || {};
  const attempts = Array.isArray(r.attempt_details) ? r.attempt_details : null;
  modal(`Request ${r.request_id || r.id}`,
    h('div', { class: 'detail' },
      kv([
        ['Time', dateTime(r.ts_ms, { seconds: true })],
        ['Status', h('span', {}, statusBadge(r.status), r.error_code ? ` ${r.error_code}` : '')],
        r.error ? ['Error', typeof r.error === 'string' ? r.error : JSON.stringify(r.error)] : null,
        ['Key', r.key_name ? `${r.key_name} (${r.key_id})` : r.key_id || 'master key'],
        ['Team', r.team || '—'],
        ['Model asked', r.model],
        ['Served by', r.provider ? `${r.provider}/${r.upstream_model || ''}` : '—'],
        ['Attempts', int(typeof r.attempts === 'number' ? r.attempts : attempts?.length ?? 1)],
        ['Streamed', r.stream ? 'yes' : 'no'],
        ['Latency', ms(r.latency_ms)],
        ['Time to first token', ms(r.ttft_ms)],
        r.upstream_ms !== undefined ? ['Upstream', ms(r.upstream_ms)] : null,
        r.overhead_ms !== undefined ? ['Tollgate overhead', ms(r.overhead_ms)] : null,
        ['Tokens', `${int(t.input)} in (${int(t.cached)} cached) · ${int(t.output)} out (${int(t.reasoning)} reasoning)`],
        ['Cost', h('span', {}, money(r.cost_nano_usd, { precise: true }), r.usage_estimated ? h('span', { class: 'badge warn' }, 'estimated') : '')],
      ]),
      attempts && attempts.length ? h('section', {}, h('h3', {}, 'Attempts'),
        h('ol', { class: 'attempts' }, attempts.map((a) => h('li', {},
          h('strong', {}, `${a.provider || '?'}/${a.model || a.upstream_model || '?'}`), ' ',
          a.status !== undefined ? statusBadge(a.status) : '', ' ',
          a.ms !== undefined ? ms(a.ms) : '', ' ',
          a.error || a.message ? h('span', { class: 'error-text' }, [a.error, a.message].filter(Boolean).join(': ')) : '')))) : null,
      bodyBlock('Request body', r.request_body),
      bodyBlock('Response body', r.response_body),
      r.request_body === undefined && r.response_body === undefined
        ? h('p', { class: 'muted' }, 'Bodies are not logged (logs.bodies is off).') : null));
}

export async function render(main, params) {
  const f = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const [keys, teams, prov] = await Promise.all([
    get('/admin/keys').catch(() => ({ data: [] })),
    get('/admin/teams').catch(() => ({ data: [] })),
    get('/admin/providers').catch(() => null),
  ]);
  const providers = prov ? [...new Set(prov.deployments.map((d) => d.provider))] : [];
  const models = prov ? prov.models.map((m) => m.name) : [];
  const inputs = {
    key: select([['', 'any key'], ...keys.data.map((k) => [k.id, k.name])], f.key, { name: 'key' }),
    team: select([['', 'any team'], ...teams.data.map((t) => [t.name, t.name])], f.team, { name: 'team' }),
    model: h('input', { type: 'text', name: 'model', value: f.model, list: 'log-models', placeholder: 'any' }),
    provider: select([['', 'any provider'], ...providers.map((p) => [p, p])], f.provider, { name: 'provider' }),
    status: h('input', { type: 'text', name: 'status', inputmode: 'numeric', value: f.status, placeholder: 'any', size: 4, pattern: '[1-5][0-9]{2}', title: 'An HTTP status, such as 429' }),
    since: h('input', { type: 'datetime-local', name: 'since', value: toLocalInput(f.since) }),
    until: h('input', { type: 'datetime-local', name: 'until', value: toLocalInput(f.until) }),
  };
  const form = h('form', { class: 'filters card', 'aria-label': 'Filters' },
    field('Key', inputs.key), field('Team', inputs.team), field('Model', inputs.model),
    h('datalist', { id: 'log-models' }, models.map((m) => h('option', { value: m }))),
    field('Provider', inputs.provider), field('Status', inputs.status),
    field('From', inputs.since), field('Until', inputs.until),
    h('div', { class: 'filter-actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h('button', { type: 'button', class: 'ghost', onclick: () => { location.hash = '#/logs'; } }, 'Clear')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = {};
    for (const k of FILTERS) {
      const v = inputs[k].value.trim();
      q[k] = k === 'since' || k === 'until' ? fromLocalInput(v) : v;
    }
    const next = '#/logs' + qs(q);
    if (location.hash === next) load([]); else location.hash = next;
  });
  const results = h('section', { class: 'card', 'aria-live': 'polite' });
  main.append(form, results);

  // cursors[i] is the ?before= of page i (page 0: none).
  async function load(cursors) {
    const before = cursors[cursors.length - 1];
    const res = await get('/admin/logs' + qs({ ...f, limit: PAGE, before }));
    const rows = res.data;
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', disabled: cursors.length === 0, onclick: () => load(cursors.slice(0, -1)) }, '← Newer'),
      h('span', { class: 'muted' }, `Page ${cursors.length + 1}`),
      h('button', { type: 'button', disabled: !res.next_before, onclick: () => load([...cursors, res.next_before]) }, 'Older →'));
    replace(results,
      h('h2', { class: 'sr-only' }, 'Requests'),
      rows.length ? h('div', { class: 'scroll' }, h('table', { class: 'table log stack', id: 'log-table' },
        h('thead', {}, h('tr', {}, ['Time', 'Status', 'Key', 'Model', 'Provider', 'Latency', 'Tokens', 'Cost'].map((c) =>
          h('th', { scope: 'col', class: ['Latency', 'Tokens', 'Cost'].includes(c) ? 'num' : null }, c)))),
        h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id },
          h('td', {}, h('button', { type: 'button', class: 'link', 'aria-label': `Open request ${r.request_id || r.id}`, onclick: () => openRow(r) }, dateTime(r.ts_ms, { seconds: true }))),
          h('td', { 'data-label': 'Status' }, statusBadge(r.status), r.error_code ? h('small', { class: 'muted' }, ` ${r.error_code}`) : null),
          h('td', { 'data-label': 'Key' }, r.key_name || r.key_id || h('span', { class: 'muted' }, 'master')),
          h('td', { 'data-label': 'Model' }, r.model),
          h('td', { 'data-label': 'Provider' }, r.provider ? `${r.provider}/${r.upstream_model}` : '—', r.attempts > 1 ? h('small', { class: 'badge warn' }, `${r.attempts} tries`) : null),
          h('td', { class: 'num', 'data-label': 'Latency' }, ms(r.latency_ms)),
          h('td', { class: 'num', 'data-label': 'Tokens' }, `${int(r.tokens?.input)} / ${int(r.tokens?.output)}`),
          h('td', { class: 'num', 'data-label': 'Cost' }, money(r.cost_nano_usd))))))) : h('p', { class: 'empty' }, 'No requests match these filters.'),
      pager);
  }
  await load([]);
}
