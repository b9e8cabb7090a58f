// The shell: theme, keyboard shortcuts and the hash router. Each page module exports
// `render(main, route)` and may return a cleanup function (timers, charts) run on navigation.

import { currentRoute, errorBox, fill, h } from './util.js';

const main = document.getElementById('main');
let cleanup = null;
let generation = 0;

/** Routes: first path segment → module and a page name for the navigation highlight. */
const ROUTES = {
  '': ['./experiments.js', 'experiments'],
  experiments: ['./runs.js', 'experiments'],
  runs: ['./run.js', 'experiments'],
  compare: ['./compare.js', 'experiments'],
  models: ['./registry.js', 'models'],
};

async function route() {
  const gen = ++generation;
  if (cleanup) {
    try { cleanup(); } catch (e) { console.warn(e); }
    cleanup = null;
  }
  const r = currentRoute();
  const head = r.parts[0] || '';
  const entry = ROUTES[head];
  for (const a of document.querySelectorAll('[data-nav]')) {
    a.toggleAttribute('aria-current', entry && a.dataset.nav === entry[1]);
  }
  if (!entry || (head === 'experiments' && !r.parts[1])) {
    if (head === 'experiments') { location.hash = '#/'; return; }
    fill(main, errorBox(new Error(`No page at #/${r.parts.join('/')}.`)), document.createTextNode(''));
    main.append(Object.assign(document.createElement('p'), { innerHTML: '<a href="#/">Back to the experiments</a>' }));
    return;
  }
  try {
    const mod = await import(entry[0]);
    if (gen !== generation) return;
    fill(main);
    const c = await mod.render(main, r);
    if (gen !== generation) { if (typeof c === 'function') c(); return; }
    cleanup = typeof c === 'function' ? c : null;
  } catch (e) {
    if (e.name === 'AbortError' || gen !== generation) return;
    console.warn(e);
    fill(main, errorBox(e));
  }
}

function applyTheme(t) {
  document.documentElement.dataset.theme = t;
  window.dispatchEvent(new CustomEvent('smelt-theme', { detail: t }));
}

function initTheme() {
  let t = null;
  try { t = localStorage.getItem('smelt-theme'); } catch { /* storage off */ }
  if (!t) t = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  applyTheme(t);
  document.getElementById('theme').addEventListener('click', toggleTheme);
}

function toggleTheme() {
  const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  try { localStorage.setItem('smelt-theme', t); } catch { /* storage off */ }
  applyTheme(t);
}

function typing(e) {
  const t = e.target;
  return t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName));
}

// Keyboard: `/` focuses the page's search or filter box, `t` switches the theme, `g e` and `g m`
// go to experiments and models, `?` lists the shortcuts.
let pendingG = false;
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || typing(e)) return;
  if (e.key === '/') {
    const box = main.querySelector('[data-search]');
    if (box) { e.preventDefault(); box.focus(); box.select && box.select(); }
  } else if (e.key === 't') {
    toggleTheme();
  } else if (e.key === 'g') {
    pendingG = true;
    setTimeout(() => { pendingG = false; }, 1000);
    return;
  } else if (pendingG && e.key === 'e') {
    location.hash = '#/';
  } else if (pendingG && e.key === 'm') {
    location.hash = '#/models';
  } else if (e.key === '?') {
    shortcuts();
  }
  pendingG = false;
});

/** The keyboard shortcuts, in a dialog (Escape or the button closes it). */
function shortcuts() {
  if (document.querySelector('dialog.shortcuts')) return;
  const keys = [['/', 'search or filter'], ['t', 'light / dark theme'], ['g e', 'experiments'], ['g m', 'models'],
    ['j / k', 'next / previous row (experiments, runs)'], ['Enter', 'open the row'], ['x', 'select the row (runs)'], ['?', 'this list']];
  const dlg = h('dialog', { class: 'shortcuts', 'aria-label': 'Keyboard shortcuts' },
    h('h2', {}, 'Keyboard shortcuts'),
    h('table', { class: 'kv' }, h('tbody', {}, keys.map(([k, what]) => h('tr', {}, h('th', {}, h('span', { class: 'kbd' }, k)), h('td', {}, what))))),
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => dlg.close() }, 'Close')));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
}

initTheme();
window.addEventListener('hashchange', route);
route();
