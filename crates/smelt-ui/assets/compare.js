// Compare runs: #/compare?runs=id1,id2,...[&metric=key][&x=params.k|metrics.k][&y=key][&diff=1].
// A params/metrics table with differences highlighted, an overlaid metric chart (chart.js),
// parallel coordinates and a scatter, both drawn here as SVG. Colours follow PALETTE in URL order.

import { h, fill, link, replaceQuery, fmtNum, errorBox, markRendered, statusBadge, runName, PALETTE } from './util.js';
import { getRun, mlflowGet } from './api.js';

const MAX_RUNS = 50;
const SVGNS = 'http://www.w3.org/2000/svg';

/** An SVG element: s('line', {x1: 0, ...}, children...). */
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export async function render(main, route) {
  const t0 = performance.now();
  const all = [...new Set((route.query.get('runs') || '').split(',').map((x) => x.trim()).filter(Boolean))];
  const hint = (n, ...before) => {
    fill(main, h('h1', {}, 'Compare runs'), before,
      h('p', { class: 'muted empty' }, n ? 'Only one run to compare. ' : 'No runs to compare. ',
        'Select two or more runs in an ', h('a', { href: '#/' }, 'experiment'), '’s runs table, then press Compare.'));
    markRendered(main, 'compare', t0);
  };
  if (all.length < 2) return hint(all.length);
  const ids = all.slice(0, MAX_RUNS);
  const ctl = new AbortController();
  const settled = await Promise.allSettled(ids.map((id) => getRun(id, ctl.signal)));
  const failed = settled.map((r, i) => [ids[i], r]).filter(([, r]) => r.status === 'rejected');
  const loaded = settled.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failBox = failed.length ? errorBox(new Error(`Could not load ${failed.length} run${failed.length > 1 ? 's' : ''}: ${failed.map(([id, r]) => `${id} (${r.reason.message})`).join('; ')}`)) : null;
  if (loaded.length < 2) return hint(loaded.length, failBox);

  const runs = loaded.map((r, i) => ({
    id: r.info.run_id, name: runName(r), info: r.info, color: PALETTE[i % PALETTE.length],
    params: new Map((r.data.params || []).map((p) => [p.key, p.value])),
    metrics: new Map((r.data.metrics || []).map((m) => [m.key, m.value])),
  }));
  const union = (f) => [...new Set(runs.flatMap((r) => [...f(r).keys()]))].sort((a, b) => a.localeCompare(b));
  const paramKeys = union((r) => r.params);
  const metricKeys = union((r) => r.metrics);

  // State, kept in the URL.
  const q = route.query;
  const st = {
    metric: metricKeys.includes(q.get('metric')) ? q.get('metric') : defaultMetric(runs, metricKeys),
    diff: q.get('diff') === '1',
    x: q.get('x'), y: q.get('y'),
  };
  st.y = metricKeys.includes(st.y) ? st.y : st.metric;
  st.x = resolveX(st.x, paramKeys, metricKeys) || defaultX(runs, paramKeys, metricKeys, st.y);

  // Header: the experiment (when shared), one legend entry per run.
  const exps = [...new Set(runs.map((r) => r.info.experiment_id))];
  const expLink = exps.length === 1 ? h('a', { href: link(['experiments', exps[0]]) }, `experiment ${exps[0]}`) : null;
  if (expLink) mlflowGet('experiments/get', { experiment_id: exps[0] }, ctl.signal).then((r) => fill(expLink, r.experiment.name)).catch(() => {});
  const swatch = (r) => h('span', { class: 'legend-swatch', style: { background: r.color } });
  const runHead = (r) => h('a', { href: link(['runs', r.id]), title: r.id }, swatch(r), r.name);

  // The table: params then metrics, one column per run.
  const row = (key, vals, num) => {
    const differ = new Set(vals.map((v) => (v === undefined ? '\u0000' : String(v)))).size > 1;
    return h('tr', { class: differ ? 'diff' : null },
      h('th', { scope: 'row', title: key }, key),
      vals.map((v) => h('td', { class: num ? 'num' : null, title: v === undefined ? 'not logged' : String(v) },
        v === undefined ? h('span', { class: 'muted' }, '—') : num ? fmtNum(v) : v)));
  };
  const groupRow = (label) => h('tr', { class: 'group' }, h('th', { colspan: runs.length + 1, scope: 'colgroup' }, label));
  const bodyRows = [
    paramKeys.length ? groupRow(`Parameters (${paramKeys.length})`) : null,
    paramKeys.map((k) => row(k, runs.map((r) => r.params.get(k)), false)),
    metricKeys.length ? groupRow(`Metrics, latest value (${metricKeys.length})`) : null,
    metricKeys.map((k) => row(k, runs.map((r) => r.metrics.get(k)), true)),
  ].flat();
  const table = h('table', { class: `grid compare${st.diff ? ' only-diff' : ''}` },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Run'), runs.map((r) => h('th', { scope: 'col' }, runHead(r))))),
    h('tbody', {}, bodyRows));
  const nDiff = bodyRows.filter((tr) => tr && tr.classList.contains('diff')).length;
  const diffBox = h('input', { type: 'checkbox', checked: st.diff, 'data-only-diff': true });
  diffBox.addEventListener('change', () => {
    st.diff = diffBox.checked;
    table.classList.toggle('only-diff', st.diff);
    replaceQuery({ diff: st.diff ? '1' : '' });
  });

  // Selects for the chart's metric and the scatter's axes.
  const metricSel = select(metricKeys.map((k) => [k, k]), st.metric, 'Metric');
  const ySel = select(metricKeys.map((k) => [k, k]), st.y, 'Y (metric)');
  const xSel = h('select', { 'aria-label': 'X (param or metric)' },
    paramKeys.length ? h('optgroup', { label: 'Parameters' }, paramKeys.map((k) => h('option', { value: `params.${k}`, selected: st.x === `params.${k}` }, k))) : null,
    metricKeys.length ? h('optgroup', { label: 'Metrics' }, metricKeys.map((k) => h('option', { value: `metrics.${k}`, selected: st.x === `metrics.${k}` }, k))) : null);

  const chartBox = h('div', { class: 'chart compare-chart' });
  const pcBox = h('div', { class: 'pc-box' });
  const scatterBox = h('div', { class: 'scatter-box' });
  const noMetrics = h('p', { class: 'muted empty' }, 'These runs logged no metrics.');

  fill(main,
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), expLink ? [' / ', expLink] : null, ' /'),
    h('h1', {}, `Compare ${runs.length} runs`),
    h('ul', { class: 'compare-legend' }, runs.map((r) => h('li', {}, runHead(r), ' ', statusBadge(r.info.status)))),
    all.length > MAX_RUNS ? h('p', { class: 'muted' }, `Showing the first ${MAX_RUNS} of ${all.length} runs.`) : null,
    failBox,
    h('h2', {}, 'Parameters and metrics'),
    h('div', { class: 'toolbar' }, h('label', {}, diffBox, 'Only differences'),
      h('span', { class: 'muted' }, `${nDiff} of ${paramKeys.length + metricKeys.length} rows differ`)),
    h('div', { class: 'scroll-x' }, table),
    h('h2', {}, 'Metric chart'),
    metricKeys.length ? [h('div', { class: 'toolbar' }, h('label', {}, 'Metric', metricSel)), chartBox] : noMetrics,
    h('h2', {}, 'Parallel coordinates'),
    pcBox,
    h('h2', {}, 'Scatter'),
    metricKeys.length ? [h('div', { class: 'toolbar' }, h('label', {}, 'X', xSel), h('label', {}, 'Y', ySel)), scatterBox] : noMetrics.cloneNode(true));

  // The chart (chart.js is loaded on demand, so a failure there leaves the rest of the page).
  let chart = null;
  let chartGen = 0;
  async function drawChart() {
    const gen = ++chartGen;
    if (chart) { try { chart.destroy(); } catch { /* already gone */ } chart = null; }
    fill(chartBox);
    if (!st.metric) return;
    try {
      const mod = await import('./chart.js');
      if (typeof mod.metricChart !== 'function') throw new Error('The chart module is not available.');
      const c = await mod.metricChart(chartBox, { runs: runs.map(({ id, name, color }) => ({ id, name, color })), key: st.metric, height: 320 });
      if (gen !== chartGen) { if (c && c.destroy) c.destroy(); return; }
      chart = c;
    } catch (e) {
      if (gen === chartGen && e.name !== 'AbortError') fill(chartBox, errorBox(e));
    }
  }
  const drawPc = () => fill(pcBox, parallelCoords(runs, paramKeys, st.metric, pcBox.clientWidth || 900));
  const drawScatter = () => { if (st.x && st.y) fill(scatterBox, scatter(runs, st.x, st.y, scatterBox.clientWidth || 900)); };

  metricSel.addEventListener('change', () => {
    st.metric = metricSel.value;
    replaceQuery({ metric: st.metric });
    drawChart();
    drawPc();
  });
  xSel.addEventListener('change', () => { st.x = xSel.value; replaceQuery({ x: st.x }); drawScatter(); });
  ySel.addEventListener('change', () => { st.y = ySel.value; replaceQuery({ y: st.y }); drawScatter(); });
  let resizeTimer = null;
  const onResize = () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { drawPc(); drawScatter(); }, 150); };
  window.addEventListener('resize', onResize);

  drawPc();
  drawScatter();
  const charted = drawChart();
  markRendered(main, 'compare', t0);
  await charted;
  return () => {
    ctl.abort();
    chartGen++;
    clearTimeout(resizeTimer);
    window.removeEventListener('resize', onResize);
    if (chart) { try { chart.destroy(); } catch { /* already gone */ } }
  };
}

function select(options, value, label) {
  return h('select', { 'aria-label': label }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

/** The metric most runs logged (ties: alphabetical). */
function defaultMetric(runs, keys) {
  let best = keys[0];
  let n = -1;
  for (const k of keys) {
    const c = runs.filter((r) => r.metrics.has(k)).length;
    if (c > n) { best = k; n = c; }
  }
  return best;
}

/** `params.k` / `metrics.k`, or a bare key (a param first). */
function resolveX(x, paramKeys, metricKeys) {
  if (!x) return null;
  if (x.startsWith('params.') && paramKeys.includes(x.slice(7))) return x;
  if (x.startsWith('metrics.') && metricKeys.includes(x.slice(8))) return x;
  if (paramKeys.includes(x)) return `params.${x}`;
  if (metricKeys.includes(x)) return `metrics.${x}`;
  return null;
}

/** Distinct values a param takes among the runs that logged it. */
const distinct = (runs, k) => new Set(runs.filter((r) => r.params.has(k)).map((r) => r.params.get(k))).size;

/** The varying param most runs logged (numeric ones first), else another metric. */
function defaultX(runs, paramKeys, metricKeys, y) {
  const logged = (k) => runs.filter((r) => r.params.has(k)).length;
  const varying = paramKeys.filter((k) => distinct(runs, k) > 1).sort((a, b) => logged(b) - logged(a));
  const numeric = varying.find((k) => runs.every((r) => !r.params.has(k) || isNum(r.params.get(k))));
  const k = numeric || varying[0] || paramKeys[0];
  if (k) return `params.${k}`;
  const m = metricKeys.find((x) => x !== y) || metricKeys[0];
  return m ? `metrics.${m}` : null;
}

const finite = (v) => (Number.isFinite(v) ? v : undefined);
const isNum = (v) => v !== undefined && v !== null && String(v).trim() !== '' && Number.isFinite(Number(v));
const valueOf = (r, key) => (key.startsWith('params.') ? r.params.get(key.slice(7)) : r.metrics.get(key.slice(8)));

/**
 * One axis over the runs' values: numeric (min..max) or categorical (sorted distinct values,
 * evenly spaced); null when the values are neither (too many distinct strings).
 */
function makeAxis(key, label, vals, maxCats = 12) {
  const present = vals.filter((v) => v !== undefined && v !== null && v !== '');
  if (!present.length) return null;
  if (present.every(isNum)) {
    const nums = vals.map((v) => (isNum(v) ? Number(v) : undefined));
    const fin = nums.filter((v) => v !== undefined);
    return { key, label, type: 'num', vals: nums, min: Math.min(...fin), max: Math.max(...fin) };
  }
  const cats = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  if (cats.length > maxCats) return null;
  return { key, label, type: 'cat', vals: vals.map((v) => (v === undefined || v === '' ? undefined : String(v))), cats };
}

/** Position in [0, 1] (0 = bottom/left) of a value on an axis; undefined when missing. */
function frac(axis, v, lo = axis.min, hi = axis.max) {
  if (v === undefined) return undefined;
  if (axis.type === 'cat') {
    const n = axis.cats.length;
    return n === 1 ? 0.5 : axis.cats.indexOf(v) / (n - 1);
  }
  return hi === lo ? 0.5 : (v - lo) / (hi - lo);
}

const clip = (t, n) => (t.length > n ? `${t.slice(0, Math.max(1, n - 1))}…` : t);

/** Parallel coordinates: an axis per varying param, the chosen metric last; a line per run. */
function parallelCoords(runs, paramKeys, metric, width) {
  const axes = [];
  let constant = 0;
  let skipped = 0;
  for (const k of paramKeys) {
    if (distinct(runs, k) < 2) { constant++; continue; }
    const a = makeAxis(k, k, runs.map((r) => r.params.get(k)));
    if (a) axes.push(a); else skipped++;
  }
  const m = metric ? makeAxis(metric, metric, runs.map((r) => finite(r.metrics.get(metric)))) : null;
  if (m) { m.metric = true; axes.push(m); }
  const notes = [constant ? `${constant} param${constant > 1 ? 's' : ''} with a single value left out` : '',
    skipped ? `${skipped} param${skipped > 1 ? 's' : ''} with too many distinct text values left out` : ''].filter(Boolean);
  if (axes.length < 2) {
    return h('p', { class: 'muted empty' }, axes.length ? 'No parameter varies across these runs, so there is nothing to draw against the metric.' : 'Nothing to draw: no varying parameters and no metric.',
      notes.length ? ` (${notes.join('; ')}.)` : '');
  }
  const W = Math.max(420, width);
  const H = 320;
  const top = 44;
  const bottom = 22;
  const left = 70;
  const right = 70;
  const gap = (W - left - right) / (axes.length - 1);
  const ax = (i) => left + i * gap;
  const ay = (f) => top + (1 - f) * (H - top - bottom);
  const chars = Math.max(4, Math.floor(gap / 7));

  const axisEls = axes.map((a, i) => {
    const x = ax(i);
    const ticks = a.type === 'num'
      ? [[a.max, 1], ...(a.max !== a.min ? [[a.min, 0]] : [])].map(([v, f]) => [fmtNum(v), f])
      : a.cats.map((c) => [c, frac(a, c)]);
    return s('g', { class: `axis${a.metric ? ' metric' : ''}` },
      s('line', { x1: x, x2: x, y1: ay(1), y2: ay(0) }),
      s('text', { x, y: top - 24, 'text-anchor': 'middle', class: 'axis-label' }, s('title', {}, a.metric ? `metric ${a.key}` : `param ${a.key}`), clip(a.key, chars)),
      s('text', { x, y: top - 10, 'text-anchor': 'middle', class: 'axis-kind' }, a.metric ? 'metric' : a.type === 'cat' ? 'param · text' : 'param'),
      ticks.map(([label, f]) => [
        s('line', { x1: x - 3, x2: x + 3, y1: ay(f), y2: ay(f) }),
        s('text', { x: x - 6, y: ay(f) + 4, 'text-anchor': 'end', class: 'tick' }, clip(String(label), 12)),
      ]));
  });

  const lines = runs.map((r, ri) => {
    let d = '';
    let pen = false;
    const dots = [];
    const tip = [r.name];
    axes.forEach((a, i) => {
      const f = frac(a, a.vals[ri]);
      tip.push(`${a.key}: ${a.vals[ri] === undefined ? '—' : a.type === 'num' ? fmtNum(a.vals[ri]) : a.vals[ri]}`);
      if (f === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${ax(i).toFixed(1)},${ay(f).toFixed(1)}`;
      pen = true;
      dots.push(s('circle', { cx: ax(i).toFixed(1), cy: ay(f).toFixed(1), r: 3, fill: r.color }));
    });
    return s('g', { class: 'pc-run', 'data-run': r.id },
      s('title', {}, tip.join('\n')),
      s('path', { d, class: 'hit' }),
      s('path', { d, stroke: r.color, class: 'line' }),
      dots);
  });

  return h('div', {},
    s('svg', { class: 'pc', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Parallel coordinates of ${runs.length} runs over ${axes.length} axes` },
      s('g', { class: 'lines' }, lines), axisEls),
    notes.length ? h('p', { class: 'muted small' }, `${notes.join('; ')}.`) : null);
}

/** "Nice" ticks covering [min, max]: steps of 1, 2 or 5 × 10^k. */
function niceTicks(min, max, n = 5) {
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    min -= pad; max += pad;
  }
  const raw = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  const step = (r >= 7.5 ? 10 : r >= 3.5 ? 5 : r >= 1.5 ? 2 : 1) * mag;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo, hi, ticks };
}

/** Scatter of one param or metric (x) against a metric (y), a point per run. */
function scatter(runs, xKey, yKey, width) {
  const xName = xKey.replace(/^(params|metrics)\./, '');
  const xa = makeAxis(xName, xKey, runs.map((r) => valueOf(r, xKey)), 60);
  const ya = makeAxis(yKey, yKey, runs.map((r) => finite(r.metrics.get(yKey))));
  if (!xa || !ya) return h('p', { class: 'muted empty' }, !xa ? `${xName} has too many distinct text values to place on an axis.` : `No run logged ${yKey}.`);
  const W = Math.max(420, width);
  const H = 340;
  const m = { l: 72, r: 24, t: 14, b: 48 };
  const pad = 12; // points stay clear of the axes
  const pw = W - m.l - m.r - 2 * pad;
  const ph = H - m.t - m.b - 2 * pad;
  const yt = niceTicks(ya.min, ya.max);
  const py = (v) => m.t + pad + (1 - frac(ya, v, yt.lo, yt.hi)) * ph;
  let px;
  let xTicks;
  if (xa.type === 'num') {
    const xt = niceTicks(xa.min, xa.max);
    px = (v) => m.l + pad + frac(xa, v, xt.lo, xt.hi) * pw;
    xTicks = xt.ticks.map((v) => [v, fmtNum(v)]);
  } else {
    // Categories evenly spaced, half a step in from each side.
    const step = pw / xa.cats.length;
    px = (v) => m.l + pad + (xa.cats.indexOf(v) + 0.5) * step;
    xTicks = xa.cats.map((c) => [c, clip(c, Math.max(3, Math.floor(step / 7)))]);
  }
  const missing = runs.filter((r, i) => xa.vals[i] === undefined || ya.vals[i] === undefined).length;
  if (missing === runs.length) return h('p', { class: 'muted empty' }, `No run has both ${xName} and ${yKey}.`);
  const points = runs.map((r, i) => {
    const xv = xa.vals[i];
    const yv = ya.vals[i];
    if (xv === undefined || yv === undefined) return null;
    return s('circle', { cx: px(xv).toFixed(1), cy: py(yv).toFixed(1), r: 6, fill: r.color, class: 'pt', 'data-run': r.id },
      s('title', {}, `${r.name}\n${xName}: ${xa.type === 'num' ? fmtNum(xv) : xv}\n${yKey}: ${fmtNum(yv)}`));
  });
  const svg = s('svg', { class: 'scatter', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${yKey} against ${xName}` },
    // Grid and y ticks.
    s('g', { class: 'axis' },
      yt.ticks.map((v) => [
        s('line', { class: 'gridline', x1: m.l, x2: W - m.r, y1: py(v), y2: py(v) }),
        s('text', { x: m.l - 6, y: py(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmtNum(v)),
      ]),
      xTicks.map(([v, label]) => [
        s('line', { x1: px(v), x2: px(v), y1: H - m.b, y2: H - m.b + 4 }),
        s('text', { x: px(v), y: H - m.b + 16, 'text-anchor': 'middle', class: 'tick' }, s('title', {}, String(v)), label),
      ]),
      s('line', { x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }),
      s('line', { x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }),
      s('text', { x: m.l + pad + pw / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis-label' }, `${xKey.startsWith('params.') ? 'param' : 'metric'} ${xName}`),
      s('text', { x: 14, y: H / 2, 'text-anchor': 'middle', class: 'axis-label', transform: `rotate(-90 14 ${H / 2})` }, `metric ${yKey}`)),
    s('g', { class: 'points' }, points));
  return h('div', {}, svg, missing ? h('p', { class: 'muted small' }, `${missing} run${missing > 1 ? 's' : ''} without ${xName} or ${yKey} not shown.`) : null);
}
