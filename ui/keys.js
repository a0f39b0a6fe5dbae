// Keys and teams: spend against budget, limits, last used; create (shown once), edit, disable,
// delete; teams with budgets and members. GET/POST/PATCH/DELETE /admin/keys and /admin/teams.
import { h, replace, field, select, modal, toast } from './dom.js';
import { api, get, ApiError } from './api.js';
import { bar } from './charts.js';
import { money, int, ago, dateOnly, dateTime, toMs, parseUsd, usdString, budgetLimitNano } from './format.js';

const PERIODS = [['monthly', 'per month'], ['weekly', 'per week'], ['daily', 'per day'], ['total', 'in total']];

function budgetCell(budget) {
  if (!budget) return h('span', { class: 'muted' }, 'no budget');
  const limit = budgetLimitNano(budget);
  const spent = BigInt(budget.spend_nano_usd ?? 0);
  // The fraction in per-mille, in integers; a zero budget is simply "used up".
  const permille = limit > 0n ? Number((spent * 1000n) / limit) : 1000;
  const text = `${money(spent)} of ${money(limit)} ${PERIODS.find(([p]) => p === budget.period)?.[1] || budget.period}`;
  return h('div', { class: 'budget' }, bar(permille / 1000, text), h('span', {}, text),
    budget.resets_at ? h('small', { class: 'muted' }, ` · resets ${dateOnly(budget.resets_at)}`) : null);
}

function limitsText(l) {
  if (!l) return '—';
  const parts = [];
  if (l.rpm !== null && l.rpm !== undefined) parts.push(`${int(l.rpm)} rpm`);
  if (l.tpm !== null && l.tpm !== undefined) parts.push(`${int(l.tpm)} tpm`);
  if (l.parallel !== null && l.parallel !== undefined) parts.push(`${int(l.parallel)} parallel`);
  return parts.length ? parts.join(' · ') : 'unlimited';
}

function status(k) {
  const exp = toMs(k.expires_at);
  if (!k.enabled) return h('span', { class: 'badge bad' }, 'disabled');
  if (exp !== null && exp <= Date.now()) return h('span', { class: 'badge warn' }, 'expired');
  return h('span', { class: 'badge good' }, 'active');
}

// Reads a non-negative integer field; '' -> null.
function intField(input, name) {
  const v = input.value.trim();
  if (v === '') return null;
  if (!/^\d{1,10}$/.test(v)) throw new Error(`${name} must be a whole number`);
  return Number(v);
}

function budgetFields(budget) {
  const usd = h('input', { type: 'text', inputmode: 'decimal', placeholder: 'no budget', value: budget ? usdString(budgetLimitNano(budget)) : '' });
  const period = select(PERIODS, budget?.period || 'monthly');
  return {
    el: h('div', { class: 'row' }, field('Budget (USD)', usd, 'Empty: no budget'), field('Period', period)),
    read() {
      const v = usd.value.trim();
      if (v === '') return null;
      const nano = parseUsd(v);
      if (nano === null) throw new Error('Budget must be an amount in dollars, like 5 or 12.50');
      // The API takes dollars as a JSON number; the decimal text round-trips exactly.
      return { usd: Number(usdString(nano)), period: period.value };
    },
  };
}

function copyButton(input) {
  return h('button', {
    type: 'button', class: 'primary', onclick: async (ev) => {
      const btn = ev.currentTarget;
      try {
        await navigator.clipboard.writeText(input.value);
      } catch {
        input.select();  // plain http on a LAN has no clipboard API: select for Ctrl+C
        if (!document.execCommand('copy')) { btn.textContent = 'Press Ctrl+C'; return; }
      }
      btn.textContent = 'Copied';
    },
  }, 'Copy');
}

function showNewKey(rec) {
  const input = h('input', { type: 'text', readonly: true, value: rec.key, class: 'mono', 'aria-label': 'The new key' });
  const dlg = modal(`Key “${rec.name}” created`,
    h('p', {}, 'Copy this key now: it is shown only once. Tollgate keeps only its hash.'),
    h('div', { class: 'copyrow' }, input, copyButton(input)),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => dlg.close() }, 'Done')));
  input.select();
}

function keyForm(ctx, key) {
  const name = h('input', { type: 'text', required: true, maxlength: 128, value: key?.name || '' });
  const team = select([['', '(no team)'], ...ctx.teams.map((t) => [t.name, t.name])], key?.team || '');
  const models = h('input', { type: 'text', value: (key?.models || []).join(', '), placeholder: 'every model', list: 'model-names' });
  const budget = budgetFields(key?.budget);
  const rpm = h('input', { type: 'text', inputmode: 'numeric', value: key?.limits?.rpm ?? '', placeholder: '∞' });
  const tpm = h('input', { type: 'text', inputmode: 'numeric', value: key?.limits?.tpm ?? '', placeholder: '∞' });
  const par = h('input', { type: 'text', inputmode: 'numeric', value: key?.limits?.parallel ?? '', placeholder: '∞' });
  const expires = h('input', { type: 'date', value: key?.expires_at ? dateOnly(key.expires_at) : '' });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'form' },
    field('Name', name, 'Who or what uses it: “kid-laptop”, “home-assistant”'),
    field('Team', team),
    field('Models', models, 'Comma-separated names the key may use; empty allows every model'),
    h('datalist', { id: 'model-names' }, ctx.models.map((m) => h('option', { value: m }))),
    budget.el,
    h('fieldset', {}, h('legend', {}, 'Rate limits'),
      h('div', { class: 'row' }, field('Requests / min', rpm), field('Tokens / min', tpm), field('In flight', par))),
    field('Expires', expires, 'Empty: never'),
    err,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => form.closest('dialog').close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, key ? 'Save' : 'Create key')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    let body;
    try {
      body = {
        name: name.value.trim(),
        team: team.value || null,
        models: models.value.split(',').map((m) => m.trim()).filter(Boolean),
        budget: budget.read(),
        limits: { rpm: intField(rpm, 'Requests / min'), tpm: intField(tpm, 'Tokens / min'), parallel: intField(par, 'In flight') },
        expires_at: expires.value || null,
      };
    } catch (e) { err.textContent = e.message; return; }
    if (!key) {
      // A new key: leave out what is unset rather than sending nulls.
      for (const k of ['team', 'budget', 'expires_at']) if (body[k] === null) delete body[k];
    }
    try {
      const rec = key ? await api('PATCH', `/admin/keys/${encodeURIComponent(key.id)}`, body) : await api('POST', '/admin/keys', body);
      form.closest('dialog').close();
      if (!key) showNewKey(rec); else toast(`Saved “${rec.name}”.`);
      ctx.reload();
    } catch (e) { err.textContent = e.message; }
  });
  modal(key ? `Edit key “${key.name}”` : 'New key', form);
  name.focus();
}

function teamForm(ctx, team) {
  const name = h('input', { type: 'text', required: true, maxlength: 128, value: team?.name || '', readonly: !!team });
  const budget = budgetFields(team?.budget);
  const editable = ctx.keys.filter((k) => k.source !== 'config');
  const boxes = editable.map((k) => h('input', { type: 'checkbox', value: k.id, checked: team && k.team === team.name }));
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'form' },
    field('Name', name),
    budget.el,
    h('fieldset', {}, h('legend', {}, 'Members'),
      editable.length ? h('ul', { class: 'checks' }, editable.map((k, i) => h('li', {}, h('label', {}, boxes[i], ' ', k.name,
        k.team && k.team !== team?.name ? h('small', { class: 'muted' }, ` (now in ${k.team})`) : null))))
        : h('p', { class: 'muted' }, 'No keys created here yet.')),
    err,
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => form.closest('dialog').close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'primary' }, team ? 'Save' : 'Create team')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      const b = budget.read();
      const teamName = name.value.trim();
      if (team) await api('PATCH', `/admin/teams/${encodeURIComponent(team.name)}`, { budget: b });
      else await api('POST', '/admin/teams', b ? { name: teamName, budget: b } : { name: teamName });
      for (let i = 0; i < editable.length; i++) {
        const k = editable[i];
        const want = boxes[i].checked;
        if (want && k.team !== teamName) await api('PATCH', `/admin/keys/${encodeURIComponent(k.id)}`, { team: teamName });
        if (!want && k.team === teamName) await api('PATCH', `/admin/keys/${encodeURIComponent(k.id)}`, { team: null });
      }
      form.closest('dialog').close();
      toast(`Saved team “${teamName}”.`);
      ctx.reload();
    } catch (e) { err.textContent = e.message; }
  });
  modal(team ? `Edit team “${team.name}”` : 'New team', form);
  (team ? form.querySelector('input[inputmode]') : name).focus();
}

function confirmDelete(what, onYes) {
  const dlg = modal(`Delete ${what}?`,
    h('p', {}, `This cannot be undone.`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => dlg.close() }, 'Cancel'),
      h('button', { type: 'button', class: 'danger', onclick: async () => { dlg.close(); await onYes(); } }, 'Delete')));
}

export async function render(main) {
  const keysBox = h('section', { class: 'card', 'aria-labelledby': 'keys-title' });
  const teamsBox = h('section', { class: 'card', 'aria-labelledby': 'teams-title' });
  main.append(keysBox, teamsBox);
  const ctx = { keys: [], teams: [], models: [], reload: load };

  async function act(fn, done) {
    try { await fn(); if (done) toast(done); } catch (e) { toast(e instanceof ApiError ? e.message : String(e), 'error'); }
    load();
  }

  function keyRow(k) {
    const fromConfig = k.source === 'config';
    const label = (verb) => `${verb} key ${k.name}`;
    return h('tr', { 'data-key': k.id },
      h('th', { scope: 'row' }, h('div', {}, k.name), h('small', { class: 'mono muted' }, k.key_hint || k.id)),
      h('td', { 'data-label': 'Status' }, status(k)),
      h('td', { 'data-label': 'Team' }, k.team || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'wide', 'data-label': 'Spend' }, budgetCell(k.budget), h('small', { class: 'muted' }, `all time ${money(k.spend_nano_usd ?? 0)}`)),
      h('td', { 'data-label': 'Limits' }, limitsText(k.limits)),
      h('td', { 'data-label': 'Models' }, k.models?.length ? k.models.join(', ') : h('span', { class: 'muted' }, 'all')),
      h('td', { 'data-label': 'Last used', title: k.last_used_at ? dateTime(k.last_used_at, { seconds: true }) : '' }, ago(k.last_used_at)),
      h('td', { class: 'actions-cell' },
        h('a', { href: `#/logs?key=${encodeURIComponent(k.id)}`, class: 'btn small ghost', 'aria-label': `Requests of key ${k.name}` }, 'Requests'),
        fromConfig ? h('small', { class: 'muted' }, 'in config.yaml') : [
          h('button', { type: 'button', class: 'small', 'aria-label': label('Edit'), onclick: () => keyForm(ctx, k) }, 'Edit'),
          h('button', {
            type: 'button', class: 'small', 'aria-label': label(k.enabled ? 'Disable' : 'Enable'),
            onclick: () => act(() => api('PATCH', `/admin/keys/${encodeURIComponent(k.id)}`, { enabled: !k.enabled }), `${k.enabled ? 'Disabled' : 'Enabled'} “${k.name}”.`),
          }, k.enabled ? 'Disable' : 'Enable'),
          h('button', {
            type: 'button', class: 'small danger', 'aria-label': label('Delete'),
            onclick: () => confirmDelete(`key “${k.name}”`, () => act(() => api('DELETE', `/admin/keys/${encodeURIComponent(k.id)}`), `Deleted “${k.name}”.`)),
          }, 'Delete'),
        ]));
  }

  function teamRow(t) {
    const members = ctx.keys.filter((k) => k.team === t.name);
    return h('tr', { 'data-team': t.name },
      h('th', { scope: 'row' }, t.name),
      h('td', { class: 'wide', 'data-label': 'Spend' }, budgetCell(t.budget), h('small', { class: 'muted' }, `all time ${money(t.spend_nano_usd ?? 0)}`)),
      h('td', { 'data-label': 'Members' }, members.length ? members.map((k) => k.name).join(', ') : h('span', { class: 'muted' }, 'no keys')),
      h('td', { class: 'actions-cell' },
        h('a', { href: `#/logs?team=${encodeURIComponent(t.name)}`, class: 'btn small ghost', 'aria-label': `Requests of team ${t.name}` }, 'Requests'),
        t.source === 'config' ? h('small', { class: 'muted' }, 'in config.yaml') : [
          h('button', { type: 'button', class: 'small', 'aria-label': `Edit team ${t.name}`, onclick: () => teamForm(ctx, t) }, 'Edit'),
          h('button', {
            type: 'button', class: 'small danger', 'aria-label': `Delete team ${t.name}`,
            onclick: () => confirmDelete(`team “${t.name}”`, () => act(() => api('DELETE', `/admin/teams/${encodeURIComponent(t.name)}`), `Deleted team “${t.name}”.`)),
          }, 'Delete'),
        ]));
  }

  async function load() {
    const [keys, teams, prov] = await Promise.all([get('/admin/keys'), get('/admin/teams'), get('/admin/providers').catch(() => null)]);
    ctx.keys = keys.data.sort((a, b) => a.name.localeCompare(b.name));
    ctx.teams = teams.data.sort((a, b) => a.name.localeCompare(b.name));
    ctx.models = prov ? [...prov.models.map((m) => m.name), ...prov.deployments.map((d) => `${d.provider}/${d.model}`)] : [];
    const head = (...cols) => h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c))));
    replace(keysBox,
      h('div', { class: 'card-head' }, h('h2', { id: 'keys-title' }, `Keys (${ctx.keys.length})`),
        h('button', { type: 'button', class: 'primary', onclick: () => keyForm(ctx) }, 'New key')),
      ctx.keys.length ? h('div', { class: 'scroll' }, h('table', { class: 'table stack', id: 'keys-table' },
        head('Name', 'Status', 'Team', 'Spend / budget', 'Limits', 'Models', 'Last used', h('span', { class: 'sr-only' }, 'Actions')),
        h('tbody', {}, ctx.keys.map(keyRow))))
        : h('p', { class: 'empty' }, 'No keys yet. Create one for each person or device that uses the gateway.'));
    replace(teamsBox,
      h('div', { class: 'card-head' }, h('h2', { id: 'teams-title' }, `Teams (${ctx.teams.length})`),
        h('button', { type: 'button', onclick: () => teamForm(ctx) }, 'New team')),
      ctx.teams.length ? h('div', { class: 'scroll' }, h('table', { class: 'table stack', id: 'teams-table' },
        head('Team', 'Spend / budget', 'Members', h('span', { class: 'sr-only' }, 'Actions')),
        h('tbody', {}, ctx.teams.map(teamRow))))
        : h('p', { class: 'empty' }, 'No teams. A team shares one budget between several keys (a family, a project).'));
  }
  await load();
}
