// Small helpers shared by every page: DOM building, formatting, the hash router's URLs.

/** Builds an element: h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child, [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Milliseconds since the epoch as local date and time. */
export function fmtTime(ms) {
  if (ms === undefined || ms === null || ms === '' || Number(ms) <= 0) return '';
  const d = new Date(Number(ms));
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "3 min ago", "2 days ago". */
export function fmtAgo(ms) {
  if (!ms) return '';
  const s = (Date.now() - Number(ms)) / 1000;
  if (s < 60) return 'just now';
  for (const [n, unit] of [[86400 * 365, 'year'], [86400 * 30, 'month'], [86400, 'day'], [3600, 'hour'], [60, 'min']]) {
    if (s >= n) {
      const k = Math.floor(s / n);
      return `${k} ${unit}${k > 1 && unit !== 'min' ? 's' : ''} ago`;
    }
  }
  return '';
}

/** A duration in ms as "1.2 s", "3 min 4 s", "2 h 5 min". */
export function fmtDuration(ms) {
  if (ms === undefined || ms === null || ms < 0 || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** A metric value, short but exact enough to compare: 6 significant digits. */
export function fmtNum(v) {
  if (v === undefined || v === null || v === '') return '';
  const x = Number(v);
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return x.toExponential(4);
  return String(Number(x.toPrecision(6)));
}

/** Bytes as "12.3 kB". */
export function fmtBytes(n) {
  if (n === undefined || n === null || n === '') return '';
  const x = Number(n);
  if (x < 1000) return `${x} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = x;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** The current route: path segments (decoded) and query. */
export function currentRoute() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, qs] = raw.split('?');
  const parts = path ? path.split('/').map(decodeURIComponent) : [];
  return { parts, query: new URLSearchParams(qs || '') };
}

/** A hash link: link(['runs', id], {tab: 'charts'}). */
export function link(parts, query) {
  const path = parts.map((p) => encodeURIComponent(p)).join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

/** Rewrites the current URL's query without a re-render (the page already shows the state). */
export function replaceQuery(updates) {
  const { parts, query } = currentRoute();
  for (const [k, v] of Object.entries(updates)) {
    if (v === undefined || v === null || v === '') query.delete(k);
    else query.set(k, v);
  }
  const obj = Object.fromEntries(query.entries());
  history.replaceState(null, '', link(parts, obj));
}

/** A run's display name: its name, else the start of its id. */
export function runName(run) {
  const info = run.info || run;
  return info.run_name || (info.run_id || '').slice(0, 8);
}

/** The value of a tag in a list of {key, value}. */
export function tagValue(tags, key) {
  const t = (tags || []).find((x) => x.key === key);
  return t ? t.value : undefined;
}

/** An error box with the message (and the hint after a newline, if any). */
export function errorBox(e) {
  const msg = e && e.message ? e.message : String(e);
  return h('div', { class: 'error', role: 'alert' }, msg);
}

/** A compact status badge. */
export function statusBadge(status) {
  const s = (status || '').toUpperCase();
  return h('span', { class: `badge status-${s.toLowerCase()}`, title: s }, s === 'FINISHED' ? '✓ finished' : s === 'RUNNING' ? '● running' : s === 'FAILED' ? '✕ failed' : s.toLowerCase());
}

/** Twelve mid-tone colours (Tailwind's 500 shades) that read on light and dark backgrounds alike. */
export const PALETTE = ['#3b82f6', '#ef4444', '#22c55e', '#f59e0b', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16', '#f97316', '#6366f1', '#14b8a6', '#a855f7'];

/** Key/value table from a list of {key, value}, sorted by key. */
export function kvTable(items, { empty = 'None.', format = (v) => v, caption } = {}) {
  if (!items || items.length === 0) return h('p', { class: 'muted' }, empty);
  const rows = [...items].sort((a, b) => a.key.localeCompare(b.key));
  return h('table', { class: 'kv' },
    caption ? h('caption', {}, caption) : null,
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.key), h('td', {}, format(r.value, r))))));
}

/** Time the page took from navigation start to now, kept on `el` for tests and benchmarks. */
export function markRendered(el, name, t0) {
  const ms = performance.now() - t0;
  el.dataset.renderMs = ms.toFixed(1);
  el.dataset.rendered = name;
  performance.mark(`smelt:${name}`);
}
