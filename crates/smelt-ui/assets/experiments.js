// The experiments list: name, run counts, runs still going, last activity; searchable by name
// (the search is kept in the URL), sorted by last activity.

import { allExperiments, smeltGet } from './api.js';
import { fmtAgo, fmtTime, h, link, markRendered, replaceQuery } from './util.js';

export async function render(main, route) {
  const t0 = performance.now();
  const [experiments, activity] = await Promise.all([
    allExperiments(),
    smeltGet('ui/experiments').then((r) => r.experiments).catch(() => []),
  ]);
  const byId = new Map(activity.map((a) => [a.experiment_id, a]));
  const rows = experiments.map((e) => {
    const a = byId.get(e.experiment_id) || { runs: 0, running: 0, last_activity: null };
    return { ...e, runs: a.runs, running: a.running, last: a.last_activity || e.last_update_time || e.creation_time };
  }).sort((x, y) => (y.last || 0) - (x.last || 0));

  const search = h('input', {
    type: 'search', class: 'wide', placeholder: 'Search experiments by name or tag  (press / )',
    'aria-label': 'Search experiments', 'data-search': true, value: route.query.get('q') || '',
  });
  const tbody = h('tbody');
  const count = h('span', { class: 'note' });
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = rows.filter((e) => !q || e.name.toLowerCase().includes(q)
      || (e.tags || []).some((t) => `${t.key}=${t.value}`.toLowerCase().includes(q)));
    count.textContent = `${shown.length} of ${rows.length} experiment${rows.length === 1 ? '' : 's'}`;
    tbody.replaceChildren(...shown.map((e) => h('tr', { dataset: { href: link(['experiments', e.experiment_id]) } },
      h('td', {}, h('a', { href: link(['experiments', e.experiment_id]) }, e.name)),
      h('td', { class: 'num' }, e.runs.toLocaleString()),
      h('td', { class: 'num' }, e.running ? h('span', { class: 'badge status-running' }, `● ${e.running}`) : ''),
      h('td', { title: fmtTime(e.last) }, fmtAgo(e.last)),
      h('td', { class: 'muted' }, fmtTime(e.creation_time)),
      h('td', { class: 'muted' }, (e.tags || []).filter((t) => !t.key.startsWith('mlflow.')).map((t) => `${t.key}=${t.value}`).join(', ')),
      h('td', { class: 'muted mono' }, e.experiment_id))));
    if (shown.length === 0) {
      tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' },
        rows.length ? 'No experiment matches.' : 'No experiments yet. Train a model with tracking on (smelt train … with SMELT_TRACKING_URI pointing here) and its runs appear here.')));
    }
  };
  search.addEventListener('input', () => { replaceQuery({ q: search.value }); draw(); });
  draw();
  main.append(
    h('h1', {}, 'Experiments', count),
    h('div', { class: 'toolbar' }, search),
    h('table', { class: 'grid', 'data-keynav': true },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', { class: 'num' }, 'Runs'), h('th', { class: 'num' }, 'Running'),
        h('th', {}, 'Last activity'), h('th', {}, 'Created'), h('th', {}, 'Tags'), h('th', {}, 'ID'))),
      tbody));
  keyNav(main.querySelector('table'));
  markRendered(main, 'experiments', t0);
}

/** j/k move a cursor over a table's rows, Enter opens the row's link. */
export function keyNav(table) {
  let i = -1;
  const onKey = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName)) return;
    const rows = [...table.querySelectorAll('tbody tr[data-href]')];
    if (!rows.length || !table.isConnected) return;
    if (e.key === 'j' || e.key === 'k') {
      i = Math.max(0, Math.min(rows.length - 1, i + (e.key === 'j' ? 1 : -1)));
      rows.forEach((r, k) => r.classList.toggle('cursor', k === i));
      rows[i].scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Enter' && rows[i]) {
      location.hash = rows[i].dataset.href;
    } else if (e.key === 'x' && rows[i]) {
      const box = rows[i].querySelector('input[type=checkbox]');
      if (box) box.click();
    }
  };
  document.addEventListener('keydown', onKey);
  const stop = new MutationObserver(() => {
    if (!table.isConnected) { document.removeEventListener('keydown', onKey); stop.disconnect(); }
  });
  stop.observe(document.getElementById('main'), { childList: true });
}
