// Metric charts on uPlot. The server downsamples (each bucket keeps its first, lowest and
// highest point, so spikes never vanish); a drag zooms by asking the server for a finer window
// of that step range, a double click goes back to the whole history.

import { sampledHistory } from './api.js';
import { fmtNum, h, PALETTE } from './util.js';

const AXES = { step: 'Step', wall: 'Wall time', relative: 'Relative time (s)' };

/** TensorBoard's smoothing: a debiased exponential moving average, `w` in [0, 1). */
export function smooth(values, w) {
  if (!w) return values;
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return v;
    last = last * w + (1 - w) * v;
    n++;
    return last / (1 - w ** n);
  });
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * Draws metric `key` of `runs` ([{id, name, color?, start?}]) into `el`.
 * Options: height, x ('step'|'wall'|'relative'), controls (default true), live (poll every 5 s
 * while true-ish function returns true), title. Returns {destroy(), reload()}.
 */
export function metricChart(el, opts) {
  const runs = opts.runs.map((r, i) => ({ ...r, color: r.color || PALETTE[i % PALETTE.length] }));
  const state = { x: opts.x || 'step', log: false, smooth: 0, window: null, raw: null, destroyed: false };
  const status = h('div', { class: 'chart-status', 'aria-live': 'polite' });
  const plotBox = h('div', { class: 'plot' });
  const xSel = h('select', { 'aria-label': 'X axis', onchange: () => { state.x = xSel.value; draw(); } },
    Object.entries(AXES).map(([v, t]) => h('option', { value: v, selected: v === state.x }, t)));
  const logBox = h('input', { type: 'checkbox', onchange: () => { state.log = logBox.checked; draw(); } });
  const smoothIn = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: 0, 'aria-label': 'Smoothing', oninput: () => { state.smooth = Number(smoothIn.value); smoothOut.textContent = state.smooth.toFixed(2); draw(); } });
  const smoothOut = h('span', { class: 'mono' }, '0.00');
  const reset = h('button', { type: 'button', disabled: true, onclick: () => zoomTo(null) }, 'Reset zoom');
  const controls = opts.controls === false ? null : h('div', { class: 'chart-controls' },
    opts.title ? h('strong', {}, opts.title) : null,
    h('label', {}, 'x', xSel), h('label', {}, logBox, 'log y'), h('label', {}, 'smoothing', smoothIn, smoothOut), reset);
  el.classList.add('chart');
  el.replaceChildren(...[controls, plotBox, status].filter(Boolean));
  el.dataset.key = opts.key;
  let plot = null;
  let seq = 0;

  async function fetchWindow(win) {
    const width = Math.max(300, plotBox.clientWidth || el.clientWidth || 600);
    const maxResults = Math.min(2400, Math.round(width * 2));
    return sampledHistory(runs.map((r) => r.id), opts.key, { startStep: win ? win[0] : undefined, endStep: win ? win[1] : undefined, maxResults });
  }

  async function load(win) {
    const my = ++seq;
    const t0 = performance.now();
    status.textContent = 'loading…';
    let points;
    try {
      points = await fetchWindow(win);
    } catch (e) {
      if (my === seq) status.textContent = `Could not load ${opts.key}: ${e.message}`;
      return;
    }
    if (my !== seq || state.destroyed) return;
    state.raw = points;
    state.window = win;
    reset.disabled = !win;
    const tFetch = performance.now();
    draw();
    const t1 = performance.now();
    const n = points.length;
    status.textContent = `${n.toLocaleString()} points${win ? ` · steps ${win[0]}–${win[1]}` : ''} · fetched in ${(tFetch - t0).toFixed(0)} ms, drawn in ${(t1 - tFetch).toFixed(0)} ms${win ? '' : ' · drag to zoom, double-click to reset'}`;
    el.dataset[win ? 'zoomMs' : 'drawMs'] = (t1 - t0).toFixed(1);
    el.dataset.points = String(n);
    // The highest value drawn: a spike must survive every downsampling (the tests read this).
    el.dataset.ymax = String(points.reduce((m, p) => (Number(p.value) > m ? Number(p.value) : m), -Infinity));
    el.dispatchEvent(new CustomEvent('chart-drawn', { detail: { zoomed: !!win, ms: t1 - t0 } }));
  }

  /** uPlot's aligned data: one x array (the union over runs) and a y array per run. */
  function aligned() {
    const byRun = new Map(runs.map((r) => [r.id, []]));
    for (const p of state.raw || []) {
      const list = byRun.get(p.run_id);
      if (list) list.push(p);
    }
    const xOf = (p, r) => {
      if (state.x === 'step') return p.step;
      const t = Number(p.timestamp) / 1000;
      return state.x === 'wall' ? t : t - (r.start ? r.start / 1000 : Number((byRun.get(r.id)[0] || p).timestamp) / 1000);
    };
    const rows = new Map();
    runs.forEach((r, i) => {
      let lastX = -Infinity;
      for (const p of byRun.get(r.id).sort((a, b) => a.step - b.step)) {
        let x = xOf(p, r);
        // A bucket's points share its first timestamp: keep them apart on time axes.
        if (state.x !== 'step' && x <= lastX) x = lastX + 1e-6;
        lastX = x;
        if (!rows.has(x)) rows.set(x, { step: p.step, ys: new Array(runs.length).fill(null) });
        const v = Number(p.value);
        rows.get(x).ys[i] = state.log && !(v > 0) ? null : v;
      }
    });
    const xs = [...rows.keys()].sort((a, b) => a - b);
    const steps = xs.map((x) => rows.get(x).step);
    const ys = runs.map((_, i) => smooth(xs.map((x) => rows.get(x).ys[i]), state.smooth));
    return { data: [xs, ...ys], steps };
  }

  let steps = [];
  function draw() {
    if (!window.uPlot || state.destroyed) return;
    const { data, steps: st } = aligned();
    steps = st;
    const width = Math.max(300, plotBox.clientWidth || el.clientWidth || 600);
    const fg = cssVar('--fg');
    const grid = cssVar('--line');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const options = {
      width,
      height: opts.height || 300,
      // One point (a metric logged once) gets a small window around it, not 0 … 2x.
      scales: { x: data[0].length === 1 ? { time: state.x === 'wall', range: [data[0][0] - 1, data[0][0] + 1] } : { time: state.x === 'wall' }, y: state.log ? { distr: 3 } : {} },
      axes: [{ ...axis, label: AXES[state.x] }, { ...axis, values: (u, vals) => vals.map(fmtNum), size: 60 }],
      series: [{ label: AXES[state.x], value: (u, v) => (v === null || v === undefined ? '' : state.x === 'step' ? String(Math.round(v)) : fmtNum(v)) },
        ...runs.map((r) => ({ label: r.name, stroke: r.color, width: 1.5, spanGaps: true, points: { show: data[0].length < 60 }, value: (u, v) => fmtNum(v) }))],
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { show: runs.length > 1 || opts.legend === true, live: true },
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const a = u.posToIdx(u.select.left);
          const b = u.posToIdx(u.select.left + u.select.width);
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          const s = steps.slice(Math.max(0, a), Math.min(steps.length, b + 1));
          if (s.length) zoomTo([Math.min(...s), Math.max(...s)]);
        }],
      },
    };
    if (plot) plot.destroy();
    plot = new window.uPlot(options, data, plotBox);
    plot.over.addEventListener('dblclick', () => zoomTo(null));
  }

  function zoomTo(win) {
    load(win);
  }

  const resize = new ResizeObserver(() => {
    if (plot && plotBox.clientWidth && Math.abs(plot.width - plotBox.clientWidth) > 4) plot.setSize({ width: plotBox.clientWidth, height: opts.height || 300 });
  });
  resize.observe(plotBox);
  const onTheme = () => draw();
  window.addEventListener('smelt-theme', onTheme);
  let timer = null;
  if (opts.live) {
    timer = setInterval(() => { if (!state.window && opts.live()) load(null); }, 5000);
  }
  // uPlot loads with `defer`; wait for it on a cold first visit.
  const start = () => (window.uPlot ? load(null) : setTimeout(start, 20));
  start();
  return {
    destroy() {
      state.destroyed = true;
      if (timer) clearInterval(timer);
      resize.disconnect();
      window.removeEventListener('smelt-theme', onTheme);
      if (plot) plot.destroy();
    },
    reload: () => load(state.window),
  };
}
