// Providers and models: each deployment's health, cooldown, error rate and latency; the routes;
// the price used per model, and the models with no price (GET /admin/providers).
import { h, replace } from './dom.js';
import { get } from './api.js';
import { bar } from './charts.js';
import { money, int, ms, pct, duration } from './format.js';

export async function render(main) {
  const box = h('div', { class: 'stack' });
  main.append(h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'ghost', onclick: () => load() }, 'Refresh')), box);
  let timer = 0;
  let live = true;
  async function load() {
    const p = await get('/admin/providers');
    if (!live) return;
    const now = Date.now();
    const head = (...cols) => h('thead', {}, h('tr', {}, cols.map(([c, cls]) => h('th', { scope: 'col', class: cls || null }, c))));
    const unpriced = new Set(p.unpriced || []);
    replace(box,
      h('section', { class: 'card' }, h('h2', {}, 'Deployments'),
        h('div', { class: 'scroll' }, h('table', { class: 'table', id: 'deployments' },
          head(['Deployment'], ['Health'], ['Requests', 'num'], ['Error rate'], ['Latency p50', 'num']),
          h('tbody', {}, p.deployments.map((d) => {
            const cooling = d.cooldown_until && d.cooldown_until > now;
            // Failed attempts count against the deployment even when a failover answered; with
            // none lately, the log's share of error answers over the last hour.
            const tries = d.recent_attempts || 0;
            const rate = tries ? d.recent_failed_attempts / tries : d.error_rate || 0;
            const said = tries ? `${int(d.recent_failed_attempts)} of ${int(tries)} attempts failed in the last ${d.recent_minutes} minutes`
              : `error rate ${pct(d.error_rate)} over the last hour`;
            return h('tr', {},
              h('th', { scope: 'row' }, `${d.provider}/${d.model}`),
              h('td', {}, d.up && !cooling ? h('span', { class: 'badge good' }, 'up')
                : h('span', {}, h('span', { class: 'badge bad' }, 'cooling down'), cooling ? ` ${duration(d.cooldown_until - now)} left` : '')),
              h('td', { class: 'num' }, int(d.requests)),
              h('td', { class: 'wide', title: said }, h('div', { class: 'budget' }, bar(rate, said, { warn: 0.05, over: 0.25 }), h('span', {}, pct(rate)))),
              h('td', { class: 'num' }, d.latency_p50_ms !== null && d.latency_p50_ms !== undefined ? ms(d.latency_p50_ms)
                : d.latency_avg_ms !== null && d.latency_avg_ms !== undefined ? h('span', { title: 'moving average' }, `~${ms(d.latency_avg_ms)}`) : '—'));
          }))))),
      h('section', { class: 'card' }, h('h2', {}, 'Models'),
        h('div', { class: 'scroll' }, h('table', { class: 'table', id: 'models' },
          head(['Model'], ['Strategy'], ['Targets']),
          h('tbody', {}, p.models.map((m) => h('tr', {},
            h('th', { scope: 'row' }, m.name), h('td', {}, m.strategy || '—'),
            h('td', {}, h('ol', { class: 'targets' }, [...m.targets, ...(m.fallbacks || [])].map((t, i) => h('li', {}, t,
              i >= m.targets.length ? h('span', { class: 'badge' }, 'fallback') : null,
              unpriced.has(t) ? h('span', { class: 'badge warn' }, 'no price') : null)))))))))),
      h('section', { class: 'card' }, h('h2', {}, 'Prices'),
        h('p', { class: 'muted' }, 'Per million tokens, as charged to budgets. Change them under pricing: in config.yaml.'),
        unpriced.size ? h('div', { class: 'notice warn', role: 'note' },
          h('strong', {}, `${unpriced.size} with no price: `), [...unpriced].join(', '),
          '. Their cost is unknown, and keys with a budget cannot use them.') : null,
        h('div', { class: 'scroll' }, h('table', { class: 'table', id: 'prices' },
          head(['Provider / model'], ['Input', 'num'], ['Output', 'num']),
          h('tbody', {}, (p.prices || []).map((r) => h('tr', {},
            h('th', { scope: 'row' }, r.model),
            h('td', { class: 'num' }, money(r.input_per_1m_nano_usd)),
            h('td', { class: 'num' }, money(r.output_per_1m_nano_usd)))),
          [...unpriced].map((m) => h('tr', { class: 'unpriced' }, h('th', { scope: 'row' }, m),
            h('td', { class: 'num', colspan: 2 }, h('span', { class: 'badge warn' }, 'no price')))))))));
    clearTimeout(timer);
    timer = setTimeout(load, 10000);
  }
  await load();
  return () => { live = false; clearTimeout(timer); };
}
