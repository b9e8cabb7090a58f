// The runs table of one experiment: server-side paging, sorting and filtering (MLflow's filter
// grammar, with completion of param/metric/tag names), chosen columns and grouping kept in the
// URL, selection for comparison and charts.

import { mlflowGet, searchRuns, smeltGet } from './api.js';
import { keyNav } from './experiments.js';
import {
  errorBox, fill, fmtAgo, fmtDuration, fmtNum, fmtTime, h, link, markRendered, replaceQuery,
  runName, statusBadge, tagValue,
} from './util.js';

const PAGE = 100;
const ATTRS = ['run_name', 'status', 'start_time', 'end_time', 'user_id', 'run_id'];

/** `metrics.auc` → `metrics.auc`; keys that are not plain identifiers get backticks. */
export function quoteKey(kind, key) {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key.replace(/`/g, '')}\``;
}

function splitCol(col) {
  const i = col.indexOf('.');
  return [col.slice(0, i), col.slice(i + 1)];
}

function cellValue(run, col) {
  const [kind, key] = splitCol(col);
  const data = run.data || {};
  if (kind === 'metrics') {
    const m = (data.metrics || []).find((x) => x.key === key);
    return m ? m.value : undefined;
  }
  if (kind === 'params') {
    const p = (data.params || []).find((x) => x.key === key);
    return p ? p.value : undefined;
  }
  if (kind === 'tags') return tagValue(data.tags, key);
  return undefined;
}

export async function render(main, route) {
  const t0 = performance.now();
  const expId = route.parts[1];
  const q = route.query;
  const state = {
    filter: q.get('filter') || '',
    order: q.get('order') || 'attributes.start_time DESC',
    cols: q.get('cols') ? q.get('cols').split(',').filter(Boolean) : null,
    group: q.get('group') || '',
    view: q.get('view') || 'ACTIVE_ONLY',
    token: q.get('page') || '',
    prev: [],
    selected: new Set((q.get('sel') || '').split(',').filter(Boolean)),
  };
  const abort = new AbortController();
  // The page the state names; the first is asked for at once, beside the experiment and its keys
  // (no waterfall).
  const fetchPage = () => searchRuns({ experimentIds: [expId], filter: state.filter, orderBy: state.order, maxResults: PAGE, pageToken: state.token || undefined, viewType: state.view }, abort.signal);
  let firstPage = fetchPage();
  firstPage.catch(() => {});

  const [exp, keysAnswer] = await Promise.all([
    mlflowGet('experiments/get', { experiment_id: expId }).then((r) => r.experiment),
    smeltGet('ui/keys', { experiment_id: expId }).catch(() => ({ keys: { params: [], metrics: [], tags: [] } })),
  ]);
  const keys = keysAnswer.keys;
  const userTags = keys.tags.filter((k) => !k.startsWith('mlflow.') && !k.startsWith('smelt.env.'));
  if (!state.cols) {
    state.cols = [
      ...keys.metrics.slice(0, 5).map((k) => `metrics.${k}`),
      ...keys.params.slice(0, 4).map((k) => `params.${k}`),
    ];
  }

  // --- Toolbar: filter with completion, columns, group by, compare.
  const filter = h('input', {
    type: 'text', class: 'filter', value: state.filter, spellcheck: 'false', autocomplete: 'off',
    'data-search': true, 'aria-label': 'Filter runs',
    placeholder: 'Filter: metrics.auc > 0.9 AND params.model = \'gbdt\'   (press / , Enter to apply)',
  });
  const suggest = completion(filter, [
    ...keys.metrics.map((k) => quoteKey('metrics', k)),
    ...keys.params.map((k) => quoteKey('params', k)),
    ...keys.tags.map((k) => quoteKey('tags', k)),
    ...ATTRS.map((a) => `attributes.${a}`),
  ], () => apply());
  const status = h('span', { class: 'note', 'aria-live': 'polite' });
  const compareBtn = h('button', { type: 'button', class: 'primary', disabled: true, onclick: () => {
    location.hash = link(['compare'], { runs: [...state.selected].join(',') });
  } }, 'Compare');
  const groupSel = h('select', { 'aria-label': 'Group runs by', onchange: () => { state.group = groupSel.value; replaceQuery({ group: state.group }); draw(); } },
    h('option', { value: '' }, 'No grouping'),
    keys.params.map((k) => h('option', { value: `params.${k}`, selected: state.group === `params.${k}` }, `param ${k}`)),
    userTags.map((k) => h('option', { value: `tags.${k}`, selected: state.group === `tags.${k}` }, `tag ${k}`)));
  const viewSel = h('select', { 'aria-label': 'Which runs', onchange: () => { state.view = viewSel.value; state.token = ''; state.prev = []; load(); } },
    [['ACTIVE_ONLY', 'Active runs'], ['DELETED_ONLY', 'Deleted runs'], ['ALL', 'All runs']].map(([v, t]) => h('option', { value: v, selected: state.view === v }, t)));
  const colsBtn = h('button', { type: 'button', 'aria-haspopup': 'true', onclick: () => columnPicker(colsBtn, keys, userTags, state.cols, (cols) => {
    state.cols = cols;
    replaceQuery({ cols: cols.join(',') });
    draw();
  }) }, 'Columns');

  const table = h('table', { class: 'grid runs', 'data-keynav': true });
  const pager = h('div', { class: 'pager' });
  const errors = h('div');
  main.append(
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), ' / '),
    h('h1', {}, exp.name, h('span', { class: 'muted mono', title: 'experiment id' }, `#${exp.experiment_id}`), status),
    h('div', { class: 'toolbar' }, h('span', { class: 'rel' }, filter, suggest), h('button', { type: 'button', onclick: () => apply() }, 'Apply')),
    h('div', { class: 'toolbar' }, colsBtn, groupSel, viewSel, compareBtn,
      h('button', { type: 'button', onclick: () => { state.selected.clear(); replaceQuery({ sel: '' }); draw(); } }, 'Clear selection'),
      h('button', { type: 'button', onclick: () => load(), title: 'Reload this page of runs' }, '↻ Refresh')),
    errors, table, pager);

  let runs = [];
  let next = null;
  let liveTimer = null;

  function apply() {
    state.filter = filter.value.trim();
    state.token = '';
    state.prev = [];
    load();
  }

  async function load() {
    const t1 = performance.now();
    status.textContent = 'loading…';
    replaceQuery({ filter: state.filter, order: state.order === 'attributes.start_time DESC' ? '' : state.order, page: state.token, view: state.view === 'ACTIVE_ONLY' ? '' : state.view });
    try {
      const pending = firstPage;
      firstPage = null;
      const r = await (pending || fetchPage());
      runs = r.runs || [];
      next = r.next_page_token || null;
      errors.replaceChildren();
      draw();
      const ms = performance.now() - t1;
      const live = runs.filter((r) => r.info.status === 'RUNNING').length;
      status.textContent = `${runs.length}${next ? '+' : ''} run${runs.length === 1 ? '' : 's'} on this page · ${ms.toFixed(0)} ms${live ? ` · ${live} running, refreshed every 10 s` : ''}`;
      table.dataset.loadMs = ms.toFixed(1);
      // While runs are going, the page refreshes itself (not while hidden, not over an open popover).
      clearTimeout(liveTimer);
      if (live) {
        liveTimer = setTimeout(() => {
          if (document.visibilityState === 'visible' && !document.querySelector('.popover')) load();
          else liveTimer = setTimeout(() => load(), 10_000);
        }, 10_000);
      }
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.textContent = '';
      fill(errors, errorBox(e), h('p', { class: 'muted' }, 'Filter grammar: metrics.<key> / params.<key> / tags.<key> / attributes.<name>, compared with = != < <= > >= LIKE ILIKE IN, joined by AND / OR. Quote strings with \'single quotes\'.'));
      runs = [];
      draw();
    }
  }

  function sortBy(col) {
    const [kind, key] = splitCol(col);
    const field = kind === 'attributes' ? `attributes.${key}` : quoteKey(kind, key);
    state.order = state.order === `${field} DESC` ? `${field} ASC` : `${field} DESC`;
    state.token = '';
    state.prev = [];
    load();
  }

  function header(label, col, cls, kindLabel) {
    const [kind, key] = col ? splitCol(col) : [];
    const field = col && (kind === 'attributes' ? `attributes.${key}` : quoteKey(kind, key));
    const dir = field && state.order.startsWith(`${field} `) ? (state.order.endsWith('DESC') ? ' ▼' : ' ▲') : '';
    return h('th', {
      class: `${cls || ''} ${col ? 'sortable' : ''}`, scope: 'col', tabindex: col ? 0 : undefined,
      'aria-sort': dir ? (dir.includes('▼') ? 'descending' : 'ascending') : undefined,
      title: col ? `Sort by ${field}` : undefined,
      onclick: col ? () => sortBy(col) : undefined,
      onkeydown: col ? (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(col); } } : undefined,
    }, kindLabel ? h('span', { class: 'colkind' }, kindLabel) : null, label, dir);
  }

  function row(run) {
    const info = run.info;
    const id = info.run_id;
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${runName(run)}`, checked: state.selected.has(id), onchange: () => {
      if (box.checked) state.selected.add(id); else state.selected.delete(id);
      tr.classList.toggle('selected', box.checked);
      replaceQuery({ sel: [...state.selected].join(',') });
      updateButtons();
    } });
    const parent = tagValue(run.data && run.data.tags, 'mlflow.parentRunId');
    const tr = h('tr', { class: state.selected.has(id) ? 'selected' : '', dataset: { href: link(['runs', id]), runId: id } },
      h('td', {}, box),
      h('td', {}, parent ? h('span', { class: 'muted', title: 'child run' }, '↳ ') : null, h('a', { href: link(['runs', id]) }, runName(run))),
      h('td', {}, statusBadge(info.status)),
      h('td', { title: fmtTime(info.start_time) }, fmtAgo(info.start_time)),
      h('td', { class: 'num' }, info.end_time ? fmtDuration(info.end_time - info.start_time) : ''),
      state.cols.map((c) => {
        const v = cellValue(run, c);
        const num = c.startsWith('metrics.');
        return h('td', { class: num ? 'num' : '', title: v === undefined ? '' : String(v) }, num ? fmtNum(v) : (v ?? ''));
      }));
    return tr;
  }

  function draw() {
    const head = h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, h('input', { type: 'checkbox', 'aria-label': 'Select all runs on this page', onchange: (e) => {
        for (const r of runs) { if (e.target.checked) state.selected.add(r.info.run_id); else state.selected.delete(r.info.run_id); }
        replaceQuery({ sel: [...state.selected].join(',') });
        draw();
      } })),
      header('Run', 'attributes.run_name'), header('Status', 'attributes.status'), header('Created', 'attributes.start_time'),
      header('Duration', null, 'num'),
      state.cols.map((c) => {
        const [kind, key] = splitCol(c);
        return header(key, c, kind === 'metrics' ? 'num' : '', kind === 'metrics' ? 'metric' : kind === 'params' ? 'param' : 'tag');
      })));
    const body = h('tbody');
    if (state.group) {
      // Members from this page, headers from the server: every matching run counted.
      const members = new Map();
      for (const r of runs) {
        const g = cellValue(r, state.group) ?? null;
        if (!members.has(g)) members.set(g, []);
        members.get(g).push(r);
      }
      const server = groupsFor();
      const [, gkey] = splitCol(state.group);
      const order = server ? server.map((g) => g.value) : [...members.keys()];
      let hidden = 0;
      let hiddenRuns = 0;
      for (const value of order) {
        const mine = members.get(value) || [];
        const sg = server && server.find((g) => g.value === value);
        if (mine.length === 0) { hidden++; hiddenRuns += sg ? sg.runs : 0; continue; }
        const total = sg ? sg.runs : mine.length;
        body.append(h('tr', { class: 'group', dataset: { group: value ?? '' } },
          h('th', { colspan: 5 }, `${gkey} = ${value ?? '(none)'}`,
            h('span', { class: 'muted' }, ` · ${total.toLocaleString()} run${total === 1 ? '' : 's'}${sg && total !== mine.length ? ` (${mine.length} on this page)` : ''}`)),
          state.cols.map((c) => {
            if (!c.startsWith('metrics.')) return h('th', {});
            const [, key] = splitCol(c);
            const gm = sg && sg.metrics.find((x) => x.key === key);
            if (gm) {
              return h('th', { class: 'num', title: gm.count ? `mean of ${gm.count} runs; min ${fmtNum(gm.min)}, max ${fmtNum(gm.max)}` : '' }, gm.count ? `μ ${fmtNum(gm.mean)}` : '');
            }
            const vals = mine.map((r) => cellValue(r, c)).filter((v) => v !== undefined && !Number.isNaN(Number(v)));
            const mean = vals.length ? vals.reduce((a, b) => a + Number(b), 0) / vals.length : undefined;
            return h('th', { class: 'num', title: vals.length ? `mean of ${vals.length} on this page` : '' }, vals.length ? `μ ${fmtNum(mean)}` : '');
          })));
        mine.forEach((r) => body.append(row(r)));
      }
      if (hidden) {
        body.append(h('tr', { class: 'group' }, h('th', { colspan: 5 + state.cols.length, class: 'muted' },
          `${hidden} more group${hidden === 1 ? '' : 's'} (${hiddenRuns.toLocaleString()} runs) on other pages`)));
      }
    } else {
      runs.forEach((r) => body.append(row(r)));
    }
    if (runs.length === 0) {
      body.append(h('tr', {}, h('td', { colspan: 5 + state.cols.length, class: 'muted' },
        state.filter ? 'No run matches this filter.' : 'No runs in this experiment yet.')));
    }
    fill(table, head, body);
    fill(pager,
      h('button', { type: 'button', disabled: !state.token, onclick: () => { state.token = state.prev.pop() || ''; load(); } }, '← Previous'),
      h('button', { type: 'button', disabled: !next, onclick: () => { state.prev.push(state.token); state.token = next; load(); } }, 'Next →'),
      h('span', {}, `${PAGE} runs per page, sorted on the server`));
    updateButtons();
  }

  // The group headers' counts and means over every matching run, fetched once per grouping,
  // filter and set of metric columns; the page draws again when they arrive.
  let groupCache = { key: '', data: null };
  function groupsFor() {
    const metrics = state.cols.filter((c) => c.startsWith('metrics.')).map((c) => splitCol(c)[1]);
    const key = JSON.stringify([state.group, state.filter, metrics]);
    if (groupCache.key === key) return groupCache.data;
    groupCache = { key, data: null };
    smeltGet('ui/groups', { experiment_id: expId, by: state.group, filter: state.filter, metrics: metrics.join(',') }, abort.signal)
      .then((r) => { if (groupCache.key === key) { groupCache.data = r.groups; draw(); } })
      .catch((e) => { if (e.name !== 'AbortError') console.warn('groups:', e.message); });
    return null;
  }

  function updateButtons() {
    const n = state.selected.size;
    compareBtn.disabled = n < 2;
    compareBtn.textContent = n ? `Compare ${n} runs` : 'Compare';
  }

  keyNav(table);
  await load();
  markRendered(main, 'runs', t0);
  return () => { abort.abort(); clearTimeout(liveTimer); };
}

/** A popover of checkboxes for every key; `done(cols)` gets the new column list. */
function columnPicker(anchor, keys, userTags, current, done) {
  const old = document.querySelector('.popover');
  if (old) { old.remove(); return; }
  const chosen = new Set(current);
  const search = h('input', { type: 'search', placeholder: 'Find a column', 'aria-label': 'Find a column' });
  const list = h('div');
  const section = (title, kind, names) => [h('h4', {}, title), names.map((k) => {
    const col = `${kind}.${k}`;
    return h('label', { dataset: { name: k.toLowerCase() } }, h('input', { type: 'checkbox', checked: chosen.has(col), onchange: (e) => {
      if (e.target.checked) chosen.add(col); else chosen.delete(col);
      done([...current.filter((c) => chosen.has(c)), ...[...chosen].filter((c) => !current.includes(c))]);
      current = [...current.filter((c) => chosen.has(c)), ...[...chosen].filter((c) => !current.includes(c))];
    } }), ` ${k}`);
  })];
  fill(list, section('Metrics', 'metrics', keys.metrics), section('Params', 'params', keys.params), section('Tags', 'tags', userTags));
  search.addEventListener('input', () => {
    const s = search.value.toLowerCase();
    for (const l of list.querySelectorAll('label')) l.hidden = !l.dataset.name.includes(s);
  });
  const pop = h('div', { class: 'popover', role: 'dialog', 'aria-label': 'Columns' }, search, list,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: () => pop.remove() }, 'Close')));
  const r = anchor.getBoundingClientRect();
  pop.style.left = `${r.left + window.scrollX}px`;
  pop.style.top = `${r.bottom + window.scrollY + 4}px`;
  document.body.append(pop);
  search.focus();
  const away = (e) => {
    if (!pop.contains(e.target) && e.target !== anchor) { pop.remove(); document.removeEventListener('mousedown', away); }
  };
  document.addEventListener('mousedown', away);
  pop.addEventListener('keydown', (e) => { if (e.key === 'Escape') { pop.remove(); anchor.focus(); } });
}

/** Completion of names under the cursor in a filter box; Enter with no open list calls `submit`. */
function completion(input, names, submit) {
  const list = h('ul', { class: 'suggest', role: 'listbox', hidden: true });
  let items = [];
  let active = -1;
  const token = () => {
    const pos = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, pos);
    const m = before.match(/[A-Za-z_.`][A-Za-z0-9_.`-]*$/);
    return m ? { start: pos - m[0].length, end: pos, text: m[0] } : null;
  };
  const close = () => { list.hidden = true; items = []; active = -1; input.setAttribute('aria-expanded', 'false'); };
  const pick = (i) => {
    const t = token();
    if (!t || !items[i]) return;
    input.value = `${input.value.slice(0, t.start)}${items[i]} ${input.value.slice(t.end)}`;
    const p = t.start + items[i].length + 1;
    input.setSelectionRange(p, p);
    close();
    input.focus();
  };
  const show = () => {
    const t = token();
    if (!t || t.text.length < 1) { close(); return; }
    const s = t.text.toLowerCase();
    const starts = names.filter((n) => n.toLowerCase().startsWith(s));
    const inside = names.filter((n) => !n.toLowerCase().startsWith(s) && n.toLowerCase().includes(s));
    items = [...starts, ...inside].slice(0, 30);
    if (items.length === 0 || (items.length === 1 && items[0] === t.text)) { close(); return; }
    active = 0;
    fill(list, items.map((n, i) => h('li', { role: 'option', 'aria-selected': i === active ? 'true' : 'false', onmousedown: (e) => { e.preventDefault(); pick(i); } }, n)));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  };
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.addEventListener('input', show);
  input.addEventListener('blur', () => setTimeout(close, 100));
  input.addEventListener('keydown', (e) => {
    if (!list.hidden && items.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
        [...list.children].forEach((li, i) => li.setAttribute('aria-selected', i === active ? 'true' : 'false'));
        return;
      }
      if (e.key === 'Tab' || e.key === 'Enter') { e.preventDefault(); pick(active); return; }
      if (e.key === 'Escape') { close(); return; }
    }
    if (e.key === 'Enter') { e.preventDefault(); submit(); }
  });
  return list;
}
