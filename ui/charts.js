// Small hand-written SVG charts: stacked columns, lines, sparklines and a budget bar. Colours come
// from CSS classes (.s0 .. .s7), so the charts follow the light and dark themes.
import { s, h } from './dom.js';
import { clock } from './format.js';

const H = 190, R = 8, T = 10, B = 22;
let L = 48;  // room for the y labels: set per chart from the longest one
let W = 640;  // the viewBox width: narrower on a phone, so the axis text keeps a readable size
const narrow = () => (globalThis.matchMedia?.('(max-width: 720px)').matches ? 380 : 640);

// A "nice" axis maximum and its ticks: 1, 2, 2.5 or 5 times a power of ten.
function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

// For counts: 4 × (1, 2 or 5 × 10^k), so each of the four ticks is a whole number.
function intMax(max) {
  for (let p = 1; ; p *= 10) for (const m of [1, 2, 5]) if (4 * m * p >= max) return 4 * m * p;
}

function frame(buckets, step, top, yFormat, label) {
  W = narrow();
  const labels = [0, 1, 2, 3, 4].map((i) => yFormat((top * i) / 4));
  L = Math.max(28, 8 + 6.2 * Math.max(...labels.map((t) => t.length)));
  const g = s('g', { class: 'axis' });
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    g.append(s('line', { x1: L, x2: W - R, y1: y, y2: y, class: i ? 'grid' : 'base' }));
    g.append(s('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, labels[i]));
  }
  const n = buckets.length;
  const ticks = Math.min(n, W < 500 ? 4 : 6);
  for (let i = 0; i < ticks; i++) {
    const idx = Math.round((i * (n - 1)) / Math.max(1, ticks - 1));
    const x = L + ((idx + 0.5) * (W - L - R)) / n;
    const anchor = ticks > 1 && i === 0 ? 'start' : ticks > 1 && i === ticks - 1 ? 'end' : 'middle';  // inside the frame
    g.append(s('text', { x: anchor === 'start' ? L : anchor === 'end' ? W - R : x, y: H - 6, 'text-anchor': anchor }, clock(buckets[idx], step)));
  }
  return s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label }, s('title', {}, label), g);
}

// Stacked columns, one colour per group. groups: [{name, values: [n|null]}]
// integer: counts, so the axis never shows a fraction of a request.
export function columns({ buckets, step, groups, yFormat = String, label, tipFormat = yFormat, integer = false }) {
  const n = buckets.length;
  const sums = buckets.map((_, i) => groups.reduce((a, g) => a + (g.values[i] || 0), 0));
  const top = integer ? intMax(Math.max(0, ...sums)) : niceMax(Math.max(0, ...sums));
  const svg = frame(buckets, step, top, yFormat, label);  // sets W
  const bw = (W - L - R) / Math.max(1, n);
  const gap = bw > 6 ? Math.min(3, bw * 0.2) : 0;
  const plotH = H - T - B;
  for (let i = 0; i < n; i++) {
    let y = H - B;
    const col = s('g', { class: 'col' });
    const tip = [clock(buckets[i], step) + (step >= 86400 ? '' : ` (${new Date(buckets[i]).toLocaleDateString('en')})`)];
    groups.forEach((g, gi) => {
      const v = g.values[i] || 0;
      if (v > 0) {
        const hgt = (v / top) * plotH;
        y -= hgt;
        col.append(s('rect', { x: L + i * bw + gap / 2, y, width: Math.max(1, bw - gap), height: Math.max(0.5, hgt), class: g.cls || `s${gi % 8}` }));
      }
      if (g.values[i]) tip.push(`${g.name}: ${tipFormat(g.values[i])}`);
    });
    // A full-height transparent target so the tooltip shows anywhere in the column.
    col.append(s('rect', { x: L + i * bw, y: T, width: bw, height: plotH, class: 'hit' }, s('title', {}, tip.join('\n'))));
    svg.append(col);
  }
  return svg;
}

// Lines over the same buckets. lines: [{name, values: [n|null]}]; null breaks a line.
export function lines({ buckets, step, series, yFormat = String, label }) {
  const n = buckets.length;
  const all = series.flatMap((l) => l.values.filter((v) => v !== null && v !== undefined));
  const top = niceMax(Math.max(0, ...all));
  const svg = frame(buckets, step, top, yFormat, label);
  const x = (i) => L + ((i + 0.5) * (W - L - R)) / Math.max(1, n);
  const y = (v) => T + (H - T - B) * (1 - v / top);
  series.forEach((l, li) => {
    let d = '';
    let open = false;
    l.values.forEach((v, i) => {
      if (v === null || v === undefined) { open = false; return; }
      d += `${open ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
      open = true;
    });
    if (d) svg.append(s('path', { d, class: `line s${li % 8}` }));
    l.values.forEach((v, i) => {
      if (v === null || v === undefined) return;
      // Points only where they would not crowd each other, or where a line has a single point.
      const lonely = (l.values[i - 1] ?? null) === null && (l.values[i + 1] ?? null) === null;
      if (n <= 60 || lonely) {
        svg.append(s('circle', { cx: x(i), cy: y(v), r: lonely ? 3 : 2, class: `dot s${li % 8}` },
          s('title', {}, `${clock(buckets[i], step)} ${l.name}: ${yFormat(v)}`)));
      }
    });
  });
  return svg;
}

export function legend(names, extra = []) {
  return h('ul', { class: 'legend' },
    names.map((name, i) => h('li', {}, s('svg', { viewBox: '0 0 10 10', class: 'swatch', 'aria-hidden': 'true' },
      s('rect', { width: 10, height: 10, rx: 2, class: `s${i % 8}` })), name, extra[i] ? h('span', { class: 'muted' }, ' ', extra[i]) : null)));
}

// A small trend line for a stat card.
export function sparkline(values, cls = 's0') {
  let last = values.find((v) => v !== null && v !== undefined) ?? 0;
  const vs = values.map((v) => (v === null || v === undefined ? last : (last = v)));  // gaps: hold the level
  const max = Math.max(1e-9, ...vs);
  const n = vs.length;
  const pts = vs.map((v, i) => `${((i / Math.max(1, n - 1)) * 100).toFixed(1)},${(28 - (v / max) * 26).toFixed(1)}`);
  return s('svg', { viewBox: '0 0 100 30', preserveAspectRatio: 'none', class: 'spark', 'aria-hidden': 'true' },
    s('polyline', { points: pts.join(' '), class: `line ${cls}` }));
}

// A horizontal bar: spend against budget, error rate. fraction 0..1 (clamped); amber from `warn`,
// red from `over` (a budget: 80% and used up).
export function bar(fraction, label, { warn = 0.8, over = 1 } = {}) {
  const f = Math.max(0, Math.min(1, fraction || 0));
  const cls = fraction >= over ? 'over' : fraction >= warn ? 'warn' : 'fine';
  return s('svg', { viewBox: '0 0 100 8', preserveAspectRatio: 'none', class: `bar ${cls}`, role: 'img', 'aria-label': label },
    s('rect', { width: 100, height: 8, rx: 4, class: 'track' }),
    f > 0 ? s('rect', { width: Math.max(2, f * 100).toFixed(2), height: 8, rx: 4, class: 'fill' }) : null);
}
