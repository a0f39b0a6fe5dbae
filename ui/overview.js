// Overview: traffic, errors, latency, tokens and spend over a range, split by a dimension; what is
// cooling down now. GET /admin/stats (twice: the totals, and the split) and GET /admin/providers.
import { h, replace, select } from './dom.js';
import { get, qs } from './api.js';
import { columns, lines, legend, sparkline } from './charts.js';
import { money, int, compact, ms, pct, duration } from './format.js';

const RANGES = {
  hour: { label: 'Last hour', span: 3600e3, step: 60 },
  day: { label: 'Last day', span: 86400e3, step: 3600 },
  month: { label: 'Last 30 days', span: 30 * 86400e3, step: 86400 },
  // The calendar month in UTC, as monthly budgets count it: who spent what this month.
  calendar: { label: 'This month', step: 86400, start: (now) => Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1) },
};
const SPLITS = [['model', 'Model'], ['provider', 'Provider'], ['key', 'Key'], ['team', 'Team']];
const MAX_GROUPS = 7;  // the rest are summed as "other"

const state = { range: 'day', split: 'model' };

const sum = (a) => a.reduce((x, v) => x + (v || 0), 0);
const nanoSum = (a) => a.reduce((x, v) => x + BigInt(v || 0), 0n);

// A group's label: the key's name for group_by=key (the group is its id).
const label = (g) => g.name || g.group || '(none)';

// Top groups by requests, the rest folded into "other".
function topGroups(series, field) {
  const ranked = [...series].sort((a, b) => sum(b.requests) - sum(a.requests));
  const top = ranked.slice(0, MAX_GROUPS).map((g) => ({ name: label(g), values: g[field] }));
  const rest = ranked.slice(MAX_GROUPS);
  if (rest.length) {
    top.push({ name: `other (${rest.length})`, values: rest[0][field].map((_, i) => sum(rest.map((g) => g[field][i]))) });
  }
  return top;
}

function card(title, value, sub, spark, cls) {
  return h('section', { class: 'stat card', 'aria-label': title },
    h('h2', {}, title), h('p', { class: 'value' }, value), sub ? h('p', { class: 'sub' }, sub) : null,
    spark ? sparkline(spark, cls) : null);
}

export async function render(main) {
  const controls = h('div', { class: 'toolbar' },
    h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' },
      Object.entries(RANGES).map(([id, r]) => h('button', {
        type: 'button', 'aria-pressed': String(state.range === id), 'data-range': id,
        onclick: () => { state.range = id; load(); },
      }, r.label))),
    h('label', { class: 'inline' }, 'Split by ',
      select(SPLITS, state.split, { id: 'split', onchange: (e) => { state.split = e.target.value; load(); } })),
    h('button', { type: 'button', class: 'ghost', onclick: () => load() }, 'Refresh'));
  const body = h('div', { class: 'overview', 'aria-live': 'polite', 'aria-busy': 'true' });
  main.append(controls, body);

  let timer = 0;
  let seq = 0;
  async function load() {
    const mine = ++seq;
    for (const b of controls.querySelectorAll('[data-range]')) b.setAttribute('aria-pressed', String(b.dataset.range === state.range));
    const r = RANGES[state.range];
    const stepMs = r.step * 1000;
    const to = Math.ceil((Date.now() + 1) / stepMs) * stepMs;  // up to the end of the current bucket
    const from = r.start ? r.start(Date.now()) : to - r.span;
    const q = { from, to, step: r.step };
    body.setAttribute('aria-busy', 'true');
    const [all, split, prov] = await Promise.all([
      get('/admin/stats' + qs({ ...q, group_by: 'none' })),
      get('/admin/stats' + qs({ ...q, group_by: state.split })),
      get('/admin/providers').catch(() => null),
    ]);
    if (mine !== seq) return;
    draw(all, split, prov, r.step);
    body.setAttribute('aria-busy', 'false');
    clearTimeout(timer);
    timer = setTimeout(load, 15000);
  }

  function draw(all, split, prov, step) {
    const t = all.totals || {};
    const s0 = all.series[0] || { requests: [], errors: [], input_tokens: [], output_tokens: [], cost_nano_usd: [], latency_p50_ms: [], latency_p95_ms: [], ttft_p50_ms: [] };
    const buckets = all.buckets;
    const splitName = SPLITS.find(([id]) => id === state.split)[1].toLowerCase();
    const tokens = s0.input_tokens.map((v, i) => (v || 0) + (s0.output_tokens[i] || 0));
    const cards = h('div', { class: 'stats' },
      card('Requests', int(t.requests), `${pct(t.requests ? t.errors / t.requests : 0)} errors`, s0.requests, 's0'),
      card('Errors', int(t.errors), t.errors ? 'status ≥ 400' : 'none', s0.errors, 'err'),
      card('Latency', `${ms(t.latency_p50_ms)}`, `p50 · p95 ${ms(t.latency_p95_ms)}`, s0.latency_p50_ms, 's1'),
      card('Time to first token', ms(t.ttft_p50_ms), 'p50, streamed requests', s0.ttft_p50_ms, 's2'),
      card('Tokens', compact((t.input_tokens || 0) + (t.output_tokens || 0)), `${compact(t.input_tokens || 0)} in · ${compact(t.output_tokens || 0)} out`, tokens, 's3'),
      card('Spend', money(t.cost_nano_usd ?? 0), RANGES[state.range].label.toLowerCase(), s0.cost_nano_usd.map(Number), 's4'));

    const reqGroups = topGroups(split.series, 'requests');
    const names = reqGroups.map((g) => g.name);
    const chart = (title, el, extra) => h('section', { class: 'card chart-card' }, h('h2', {}, title), el, extra || null);
    const groupTable = h('table', { class: 'table compact' },
      h('caption', { class: 'sr-only' }, `Totals by ${splitName}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, splitName[0].toUpperCase() + splitName.slice(1)),
        h('th', { scope: 'col', class: 'num' }, 'Requests'), h('th', { scope: 'col', class: 'num' }, 'Errors'),
        h('th', { scope: 'col', class: 'num' }, 'Tokens'), h('th', { scope: 'col', class: 'num' }, 'Spend'))),
      h('tbody', {}, [...split.series].sort((a, b) => sum(b.requests) - sum(a.requests)).map((g) =>
        h('tr', {}, h('td', {}, label(g)), h('td', { class: 'num' }, int(sum(g.requests))),
          h('td', { class: 'num' }, int(sum(g.errors))),
          h('td', { class: 'num' }, compact(sum(g.input_tokens) + sum(g.output_tokens))),
          h('td', { class: 'num' }, money(nanoSum(g.cost_nano_usd)))))));
    if (!split.series.length) groupTable.tBodies[0].append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No requests in this range.')));

    replace(body, cards,
      h('div', { class: 'grid2' },
        chart(`Requests by ${splitName}`, columns({ buckets, step, groups: reqGroups, yFormat: compact, tipFormat: int, integer: true, label: `Requests per ${step >= 86400 ? 'day' : step >= 3600 ? 'hour' : 'minute'} by ${splitName}` }), legend(names)),
        chart('Latency', lines({ buckets, step, yFormat: ms, label: 'Latency p50, p95 and time to first token',
          series: [{ name: 'p50', values: s0.latency_p50_ms }, { name: 'p95', values: s0.latency_p95_ms }, { name: 'TTFT p50', values: s0.ttft_p50_ms }] }),
        legend(['p50', 'p95', 'time to first token p50'])),
        chart(`Spend by ${splitName}`, columns({ buckets, step, groups: topGroups(split.series, 'cost_nano_usd').map((g) => ({ ...g, values: g.values.map(Number) })), yFormat: (v) => money(Math.round(v)), label: `Spend by ${splitName}` }), legend(names)),
        chart(`Tokens by ${splitName}`, columns({ buckets, step, groups: topGroups(split.series.map((g) => ({ ...g, tokens: g.input_tokens.map((v, i) => (v || 0) + (g.output_tokens[i] || 0)) })), 'tokens'), yFormat: compact, tipFormat: int, integer: true, label: `Tokens by ${splitName}` }), legend(names)),
        chart('Errors', columns({ buckets, step, groups: [{ name: 'errors', values: s0.errors, cls: 'err' }], yFormat: compact, tipFormat: int, integer: true, label: 'Errors over time' }))),
      h('div', { class: 'grid2' },
        h('section', { class: 'card', 'aria-label': `Totals by ${splitName}` }, h('h2', {}, `Totals by ${splitName}`), h('div', { class: 'scroll' }, groupTable)),
        cooling(prov)));
  }

  load();
  return () => { seq++; clearTimeout(timer); };
}

function cooling(prov) {
  const section = h('section', { class: 'card', 'aria-labelledby': 'cool-title' }, h('h2', { id: 'cool-title' }, 'Cooling down now'));
  if (!prov) return section.append(h('p', { class: 'muted' }, 'Provider health is not available.')), section;
  const now = Date.now();
  const down = prov.deployments.filter((d) => !d.up || (d.cooldown_until && d.cooldown_until > now));
  if (!down.length) {
    section.append(h('p', { class: 'ok-line' }, `All ${prov.deployments.length} deployments are up.`));
  } else {
    section.append(h('ul', { class: 'plain' }, down.map((d) => h('li', {},
      h('span', { class: 'badge bad' }, 'cooling'), ' ', h('strong', {}, `${d.provider}/${d.model}`),
      d.cooldown_until ? ` · back in ${duration(d.cooldown_until - now)}` : '',
      ` · ${pct(d.error_rate)} errors`))));
  }
  section.append(h('p', {}, h('a', { href: '#/providers' }, 'All providers →')));
  return section;
}
