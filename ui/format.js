// Formatting. Money arrives as integer nano-USD and is formatted with BigInt arithmetic: no float
// ever touches a dollar amount.
const NANO = 1_000_000_000n;

function group3(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// nano-USD (number, bigint or numeric string) -> "$1,234.57", "$0.0042", "$0". null -> "—".
export function money(nano, { precise = false } = {}) {
  if (nano === null || nano === undefined || nano === '') return '—';
  let n = typeof nano === 'bigint' ? nano : BigInt(typeof nano === 'number' ? Math.trunc(nano) : String(nano));
  const neg = n < 0n;
  if (neg) n = -n;
  if (n === 0n) return '$0';
  // Below a cent, show enough decimals for two significant digits (max 9); else cents.
  let decimals = 2;
  if (precise) decimals = 9;
  else if (n < 10_000_000n) {
    decimals = 3;
    while (decimals < 9 && n < 10n ** BigInt(10 - decimals)) decimals++;
  }
  const unit = 10n ** BigInt(9 - decimals);
  const rounded = decimals === 9 ? n : (n + unit / 2n) / unit;  // half up
  const scale = 10n ** BigInt(decimals);
  const whole = rounded / scale;
  let frac = (rounded % scale).toString().padStart(decimals, '0');
  if (decimals > 2) frac = frac.replace(/0+$/, '').padEnd(2, '0');
  return `${neg ? '-' : ''}$${group3(whole.toString())}.${frac}`;
}

// A decimal dollar string typed by a user -> nano-USD BigInt, or null if it is not one.
export function parseUsd(text) {
  const m = /^\s*\$?\s*(\d{1,10})(?:\.(\d{0,9}))?\s*$/.exec(text ?? '');
  if (!m) return null;
  return BigInt(m[1]) * NANO + BigInt((m[2] || '').padEnd(9, '0'));
}

// nano-USD -> the plain decimal string of dollars ("5", "0.25"), for form fields and JSON bodies.
export function usdString(nano) {
  const n = BigInt(nano);
  const frac = (n % NANO).toString().padStart(9, '0').replace(/0+$/, '');
  return (n / NANO).toString() + (frac ? '.' + frac : '');
}

// A budget's limit in nano-USD: budget.limit_nano_usd when the server sends it, else derived from
// budget.usd through its decimal text (the shortest round-trip form of the double).
export function budgetLimitNano(budget) {
  if (!budget) return null;
  if (budget.limit_nano_usd !== undefined && budget.limit_nano_usd !== null) return BigInt(budget.limit_nano_usd);
  const text = typeof budget.usd === 'number' ? budget.usd.toFixed(9) : String(budget.usd);
  return parseUsd(text);
}

const intFmt = new Intl.NumberFormat('en');
export const int = (n) => (n === null || n === undefined ? '—' : intFmt.format(n));

// 1234 -> "1.2k", 2500000 -> "2.5M"
export function compact(n) {
  if (n === null || n === undefined) return '—';
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1).replace(/\.0$/, '') + 'B';
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1).replace(/\.0$/, '') + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(a >= 1e4 ? 0 : 1).replace(/\.0$/, '') + 'k';
  return String(Math.round(n * 10) / 10);
}

export function ms(x) {
  if (x === null || x === undefined) return '—';
  if (x >= 10_000) return (x / 1000).toFixed(0) + ' s';
  if (x >= 1000) return (x / 1000).toFixed(1) + ' s';
  return (x >= 10 ? Math.round(x) : Math.round(x * 10) / 10) + ' ms';
}

export function pct(fraction) {
  if (fraction === null || fraction === undefined) return '—';
  const p = fraction * 100;
  return (p > 0 && p < 0.1 ? '<0.1' : p.toFixed(p >= 10 || p === 0 ? 0 : 1)) + '%';
}

const pad = (n) => String(n).padStart(2, '0');

// Accepts unix ms, or an ISO string (the key API sends ISO). Local time, 24 h.
export function toMs(t) {
  if (t === null || t === undefined || t === '') return null;
  if (typeof t === 'number') return t;
  const v = Date.parse(t);
  return Number.isNaN(v) ? null : v;
}

export function dateTime(t, { seconds = false } = {}) {
  const v = toMs(t);
  if (v === null) return '—';
  const d = new Date(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}` +
    (seconds ? `:${pad(d.getSeconds())}` : '');
}

export function dateOnly(t) {
  const v = toMs(t);
  if (v === null) return '';
  const d = new Date(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function clock(t, step) {
  const d = new Date(t);
  if (step >= 86400) return `${d.getDate()} ${d.toLocaleString('en', { month: 'short' })}`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function ago(t, now = Date.now()) {
  const v = toMs(t);
  if (v === null) return 'never';
  const s = Math.round((now - v) / 1000);
  if (s < 0) return 'in ' + ago(now, now + (now - v)).replace(/ ago$/, '');
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function duration(msLeft) {
  const s = Math.max(0, Math.ceil(msLeft / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}
