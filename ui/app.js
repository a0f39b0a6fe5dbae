// The shell: sign-in, navigation and hash routing (#/overview, #/keys, #/logs?key=..., ...).
import { h, replace, field, toast } from './dom.js';
import { checkSession, signIn, signOut, setExpiredHandler, ApiError } from './api.js';
import * as overview from './overview.js';
import * as keys from './keys.js';
import * as logs from './logs.js';
import * as providers from './providers.js';
import * as config from './config.js';
import * as playground from './playground.js';

const pages = [
  ['overview', 'Overview', overview],
  ['keys', 'Keys & teams', keys],
  ['logs', 'Request log', logs],
  ['providers', 'Providers', providers],
  ['config', 'Config', config],
  ['playground', 'Playground', playground],
];

const root = document.getElementById('app');
let cleanup = null;
let signedIn = false;

function route() {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { name: path || 'overview', params: new URLSearchParams(query || '') };
}

function showSignIn(message) {
  signedIn = false;
  if (cleanup) { cleanup(); cleanup = null; }
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false', autocapitalize: 'off' });
  const error = h('p', { class: 'error', role: 'alert', id: 'signin-error' }, message || '');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin card', 'aria-labelledby': 'signin-title' },
    h('div', { class: 'brand big' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', width: 36, height: 36 }), 'Tollgate'),
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', { class: 'muted' }, 'Use the master key from your config (server.master_key). It is sent once and never stored in this browser.'),
    field('Master key', input),
    error, button);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    error.textContent = '';
    try {
      await signIn(input.value);
      input.value = '';
      showApp();
    } catch (e) {
      input.value = '';
      error.textContent = e instanceof ApiError && e.status === 401 ? 'That key is not the master key.'
        : e instanceof ApiError && e.status === 429 ? 'Too many attempts. Wait a minute and try again.'
        : `Could not sign in: ${e.message}`;
      button.disabled = false;
      input.focus();
    }
  });
  replace(root, h('main', { class: 'signin-wrap', id: 'main' }, form));
  document.title = 'Sign in · Tollgate';
  input.focus();
}

function showApp() {
  signedIn = true;
  const nav = h('nav', { 'aria-label': 'Pages' },
    h('ul', {}, pages.map(([id, title]) => h('li', {}, h('a', { href: `#/${id}`, 'data-page': id }, title)))));
  const out = h('button', { type: 'button', class: 'ghost', onclick: async () => { await signOut(); location.hash = ''; showSignIn('Signed out.'); } }, 'Sign out');
  const main = h('main', { id: 'main', tabindex: '-1' });
  replace(root,
    h('a', { href: '#main', class: 'skip' }, 'Skip to content'),
    h('header', { class: 'top' },
      h('div', { class: 'brand' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', width: 24, height: 24 }), 'Tollgate'),
      nav, out),
    main);
  render();
}

async function render() {
  if (!signedIn) return;
  const main = document.getElementById('main');
  const { name, params } = route();
  const page = pages.find(([id]) => id === name) || pages[0];
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === page[0]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (cleanup) { cleanup(); cleanup = null; }
  document.title = `${page[1]} · Tollgate`;
  replace(main, h('h1', {}, page[1]));
  try {
    cleanup = (await page[2].render(main, params)) || null;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;  // the expired handler took over
    main.append(h('p', { class: 'error', role: 'alert' }, `Could not load this page: ${e.message}`));
  }
}

setExpiredHandler(() => {
  if (signedIn) showSignIn('Your session has expired. Sign in again.');
});

window.addEventListener('hashchange', () => { if (signedIn) render(); });
window.addEventListener('unhandledrejection', (ev) => {
  if (ev.reason instanceof ApiError && ev.reason.status === 401) { ev.preventDefault(); return; }
  toast(String(ev.reason?.message || ev.reason), 'error');
  ev.preventDefault();
});

(async () => {
  try {
    if (await checkSession()) showApp();
    else showSignIn();
  } catch (e) {
    showSignIn(`Cannot reach Tollgate: ${e.message}`);
  }
})();
