// Config: the running file (secrets redacted), where it came from and when it loaded; reload, with
// a refused file's errors (GET /admin/config, POST /admin/reload).
import { h, replace, toast } from './dom.js';
import { get, api, ApiError } from './api.js';
import { dateTime } from './format.js';

function errorList(errors) {
  return h('ul', { class: 'errors' }, errors.map((e) => h('li', {},
    e.path || e.line ? h('code', {}, [e.path, e.line ? `line ${e.line}` : ''].filter(Boolean).join(' · ')) : null,
    e.path || e.line ? ': ' : '', e.message)));
}

export async function render(main) {
  const status = h('section', { class: 'card', 'aria-live': 'polite', id: 'reload-status' });
  const file = h('section', { class: 'card' });
  main.append(status, file);

  async function reload(btn) {
    btn.disabled = true;
    try {
      await api('POST', '/admin/reload');
      toast('Configuration reloaded.');
      await load();
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 401) throw e;
      const errors = e.body?.errors?.length ? e.body.errors : [{ message: e.message }];
      await load({ refused: errors, message: e.message });
    } finally { btn.disabled = false; }
  }

  async function load(refused) {
    const c = await get('/admin/config');
    const btn = h('button', { type: 'button', class: 'primary', onclick: (ev) => reload(ev.currentTarget) }, 'Reload from disk');
    const last = refused ? { ok: false, errors: refused.refused, at: Date.now() } : c.last_reload;
    replace(status,
      h('div', { class: 'card-head' }, h('h2', {}, 'Running configuration'), btn),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Source'), h('dd', {}, h('code', {}, c.source || '—')),
        h('dt', {}, 'Loaded'), h('dd', {}, dateTime(c.loaded_at, { seconds: true })),
        h('dt', {}, 'Last reload'), h('dd', {}, !last ? 'none since start'
          : h('span', {}, last.ok ? h('span', { class: 'badge good' }, 'applied') : h('span', { class: 'badge bad' }, 'refused'),
            ' ', dateTime(last.at, { seconds: true }), last.trigger ? h('span', { class: 'muted' }, ` (${last.trigger})`) : '')),
        c.generation !== undefined ? [h('dt', {}, 'Generation'), h('dd', {}, String(c.generation))] : null),
      last && !last.ok ? h('div', { class: 'notice bad', role: 'alert', id: 'reload-errors' },
        h('p', {}, h('strong', {}, 'The new file was refused; the previous configuration keeps serving.')),
        errorList(last.errors || [])) : null,
      h('p', { class: 'muted' }, 'Edit the file on the host, then reload. A file with errors is refused and changes nothing.'));
    replace(file,
      h('h2', {}, 'config.yaml'), h('p', { class: 'muted' }, 'Secrets are redacted.'),
      h('pre', { class: 'yaml', tabindex: '0', 'aria-label': 'The configuration file' }, c.yaml || ''),
      h('details', {}, h('summary', {}, 'Effective configuration (with defaults)'),
        h('pre', { class: 'yaml', tabindex: '0' }, JSON.stringify(c.config, null, 2))));
  }
  await load();
}
