// The admin API client. The session is an HttpOnly cookie the page never sees; the CSRF token
// lives only in this module's memory (a reload asks GET /ui/api/session for it again). The master
// key passes through signIn() once and is never stored.
let session = null;  // {csrf, expires_at}
let onExpired = () => {};
let expiryTimer = 0;

export class ApiError extends Error {
  constructor(status, body) {
    const err = body && body.error;
    super(err?.message || `HTTP ${status}`);
    this.status = status;
    this.code = err?.code || null;
    this.body = body;
  }
}

export function setExpiredHandler(fn) { onExpired = fn; }
export const currentSession = () => session;

function keep(s) {
  session = s;
  clearTimeout(expiryTimer);
  if (s && s.expires_at) {
    // Timers are capped at 2^31-1 ms (~24.8 days); sessions last 12 h.
    const left = Math.min(s.expires_at - Date.now(), 2 ** 31 - 1);
    expiryTimer = setTimeout(() => expire(), Math.max(0, left));
  }
}

function expire() {
  if (!session) return;
  keep(null);
  onExpired();
}

async function parse(res) {
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return { error: { message: text.slice(0, 300) } }; }
}

const writes = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export function authHeaders(method) {
  const headers = {};
  if (writes.has(method) && session) headers['x-tollgate-csrf'] = session.csrf;
  return headers;
}

// api('GET', '/admin/keys') -> parsed JSON; throws ApiError. A 401 ends the session in the UI.
export async function api(method, path, body, retried = false) {
  const headers = authHeaders(method);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await parse(res);
  if (res.status === 401) expire();
  // Signing in from another tab replaces the cookie, and with it the session this tab's token
  // belongs to: fetch the live session's token once and retry.
  if (res.status === 403 && data?.error?.code === 'csrf_failed' && !retried && await checkSession()) {
    return api(method, path, body, true);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => api('GET', path);

export async function checkSession() {
  const res = await fetch('/ui/api/session', { credentials: 'same-origin', cache: 'no-store' });
  if (!res.ok) { expire(); return null; }  // a session this tab had is gone: back to sign-in
  keep(await res.json());
  return session;
}

export async function signIn(key) {
  const res = await fetch('/ui/api/session', {
    method: 'POST', credentials: 'same-origin', cache: 'no-store',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  const data = await parse(res);
  if (!res.ok) throw new ApiError(res.status, data);
  keep(data);
  return data;
}

export async function signOut() {
  try {
    await fetch('/ui/api/session', { method: 'DELETE', credentials: 'same-origin', headers: authHeaders('DELETE') });
  } finally {
    keep(null);
  }
}

// Query string from an object, skipping empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const t = u.toString();
  return t ? '?' + t : '';
}
