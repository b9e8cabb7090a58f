// One run: overview (params, metrics with min/max, tags, datasets, lineage, system), its metric
// charts, and its artifacts with previews. Tabs and the open artifact are kept in the URL.

import { getRun, mlflowGet, mlflowSend, searchRuns, smeltGet } from './api.js';
import { artifactBrowser } from './artifacts.js';
import { metricChart } from './chart.js';
import {
  fill, fmtDuration, fmtNum, fmtTime, h, kvTable, link, markRendered, runName, statusBadge, tagValue,
} from './util.js';

const SYSTEM_PREFIXES = ['mlflow.', 'smelt.env.'];

export async function render(main, route) {
  const t0 = performance.now();
  const runId = route.parts[1];
  const tab = route.query.get('tab') || 'overview';
  const run = await getRun(runId);
  const info = run.info;
  const data = run.data || {};
  const tags = data.tags || [];
  const exp = await mlflowGet('experiments/get', { experiment_id: info.experiment_id }).then((r) => r.experiment).catch(() => null);
  const parent = tagValue(tags, 'mlflow.parentRunId');
  const commit = tagValue(tags, 'mlflow.source.git.commit');

  const tabLink = (id, label) => h('a', { role: 'tab', href: link(['runs', runId], { tab: id === 'overview' ? '' : id }), 'aria-selected': tab === id ? 'true' : 'false' }, label);
  main.append(
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Experiments'), ' / ',
      exp ? h('a', { href: link(['experiments', exp.experiment_id]) }, exp.name) : info.experiment_id, ' / '),
    h('h1', {}, runName(run), statusBadge(info.status), h('span', { class: 'muted mono' }, info.run_id)),
    h('div', { class: 'muted' },
      `Started ${fmtTime(info.start_time)}`, info.end_time ? ` · ran ${fmtDuration(info.end_time - info.start_time)}` : '',
      info.user_id ? ` · by ${info.user_id}` : '',
      parent ? [' · child of ', h('a', { href: link(['runs', parent]) }, parent.slice(0, 8))] : null,
      commit ? [' · commit ', h('code', {}, commit.slice(0, 10))] : null),
    h('nav', { class: 'tabs', role: 'tablist' }, tabLink('overview', 'Overview'), tabLink('charts', `Charts (${(data.metrics || []).length})`), tabLink('artifacts', 'Artifacts')));
  const body = h('div', { role: 'tabpanel' });
  main.append(body);
  let cleanup = null;
  if (tab === 'charts') cleanup = charts(body, run, route.query.get('metric'));
  else if (tab === 'artifacts') await artifactBrowser(body, run, route.query.get('path') || '');
  else await overview(body, run);
  markRendered(main, `run-${tab}`, t0);
  return cleanup;
}

async function overview(body, run) {
  const info = run.info;
  const data = run.data || {};
  const tags = data.tags || [];
  const [ranges, children, versions] = await Promise.all([
    smeltGet('ui/metric-ranges', { run_id: info.run_id }).then((r) => r.ranges).catch(() => []),
    searchRuns({ experimentIds: [info.experiment_id], filter: `tags.mlflow.parentRunId = '${info.run_id}'`, maxResults: 200 }).then((r) => r.runs || []).catch(() => []),
    mlflowSend('model-versions/search', { filter: `run_id = '${info.run_id}'`, max_results: 100 }).then((r) => r.model_versions || []).catch(() => []),
  ]);
  const range = new Map(ranges.map((r) => [r.key, r]));
  const metrics = [...(data.metrics || [])].sort((a, b) => a.key.localeCompare(b.key));
  const metricTable = metrics.length === 0 ? h('p', { class: 'muted' }, 'No metrics.') : h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Metric'), h('th', { class: 'num' }, 'Latest'), h('th', { class: 'num' }, 'Min'), h('th', { class: 'num' }, 'Max'), h('th', { class: 'num' }, 'Step'))),
    h('tbody', {}, metrics.map((m) => {
      const r = range.get(m.key) || {};
      return h('tr', {}, h('th', { scope: 'row' }, h('a', { href: link(['runs', info.run_id], { tab: 'charts', metric: m.key }), title: 'Chart this metric' }, m.key)),
        h('td', { class: 'num' }, fmtNum(m.value)), h('td', { class: 'num' }, fmtNum(r.min)), h('td', { class: 'num' }, fmtNum(r.max)), h('td', { class: 'num' }, m.step));
    })));
  const userTags = tags.filter((t) => !SYSTEM_PREFIXES.some((p) => t.key.startsWith(p)) && !t.key.startsWith('smelt.'));
  const smeltTags = tags.filter((t) => t.key.startsWith('smelt.') && !t.key.startsWith('smelt.env.'));
  const system = tags.filter((t) => SYSTEM_PREFIXES.some((p) => t.key.startsWith(p)) && t.key !== 'mlflow.runName');
  const datasets = (run.inputs && run.inputs.dataset_inputs) || [];
  const outputs = (run.outputs && run.outputs.model_outputs) || [];
  fill(body, h('div', { class: 'cards' },
    h('section', { class: 'card' }, h('h2', {}, `Parameters (${(data.params || []).length})`), kvTable(data.params, { empty: 'No parameters.' })),
    h('section', { class: 'card' }, h('h2', {}, `Metrics (${metrics.length})`), metricTable),
    h('section', { class: 'card' }, h('h2', {}, 'Tags'), kvTable([...userTags, ...smeltTags], { empty: 'No tags.' })),
    h('section', { class: 'card' }, h('h2', {}, `Datasets (${datasets.length})`), datasets.length === 0 ? h('p', { class: 'muted' }, 'No dataset logged.') : datasets.map(datasetView)),
    h('section', { class: 'card' }, h('h2', {}, 'Lineage'), lineage(run, children, versions, outputs)),
    h('section', { class: 'card' }, h('h2', {}, 'System'), kvTable(system, { empty: 'No system information.' }),
      h('p', { class: 'muted mono' }, `artifacts: ${info.artifact_uri}`))));
}

function parseJson(s) {
  try { return typeof s === 'string' ? JSON.parse(s) : s; } catch { return null; }
}

function datasetView(d) {
  const ds = d.dataset || {};
  const profile = parseJson(ds.profile) || {};
  const schema = parseJson(ds.schema);
  const source = parseJson(ds.source);
  const cols = schema && (schema.mlflow_colspec || schema.columns || schema.fields);
  const context = tagValue(d.tags, 'mlflow.data.context');
  return h('div', { class: 'dataset' },
    h('h3', {}, ds.name || 'dataset', context ? h('span', { class: 'badge' }, context) : null),
    kvTable([
      { key: 'fingerprint', value: ds.digest },
      { key: 'source', value: source && source.uri ? source.uri : ds.source },
      { key: 'rows', value: profile.num_rows !== undefined ? Number(profile.num_rows).toLocaleString() : '' },
      ...Object.entries(profile).filter(([k]) => k !== 'num_rows').slice(0, 6).map(([k, v]) => ({ key: k, value: typeof v === 'object' ? JSON.stringify(v) : v })),
    ].filter((x) => x.value !== undefined && x.value !== ''), { format: (v, r) => (r.key === 'fingerprint' ? h('code', {}, v) : v) }),
    Array.isArray(cols) && cols.length ? h('details', {}, h('summary', {}, `Schema: ${cols.length} columns`),
      h('table', { class: 'grid' }, h('tbody', {}, cols.map((c) => h('tr', {}, h('td', {}, c.name), h('td', { class: 'muted' }, c.type || c.dtype || '')))))) : null);
}

function lineage(run, children, versions, outputs) {
  const tags = run.data.tags || [];
  const items = [];
  const commit = tagValue(tags, 'mlflow.source.git.commit');
  if (commit) items.push({ key: 'git commit', value: h('span', {}, h('code', {}, commit), tagValue(tags, 'smelt.git.dirty') === 'true' ? h('span', { class: 'badge' }, 'uncommitted changes') : null) });
  const src = tagValue(tags, 'mlflow.source.name');
  if (src) items.push({ key: 'source', value: src });
  for (const d of (run.inputs && run.inputs.dataset_inputs) || []) {
    items.push({ key: `data: ${d.dataset.name}`, value: h('code', {}, d.dataset.digest) });
  }
  const parent = tagValue(tags, 'mlflow.parentRunId');
  if (parent) items.push({ key: 'parent run', value: h('a', { href: link(['runs', parent]) }, parent) });
  if (children.length) {
    items.push({ key: `child runs (${children.length})`, value: h('span', {}, children.map((c, i) => [i ? ', ' : '', h('a', { href: link(['runs', c.info.run_id]) }, runName(c))])) });
  }
  for (const v of versions) {
    items.push({ key: 'registered as', value: h('a', { href: link(['models', v.name, 'versions', v.version]) }, `${v.name} v${v.version}`) });
  }
  for (const o of outputs) items.push({ key: 'logged model', value: h('code', {}, o.model_id) });
  return items.length ? h('table', { class: 'kv' }, h('tbody', {}, items.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.key), h('td', {}, r.value))))) : h('p', { class: 'muted' }, 'No lineage recorded (commit, data, parent or children).');
}

function charts(body, run, only) {
  const keys = (run.data.metrics || []).map((m) => m.key).sort();
  const running = () => run.info.status === 'RUNNING';
  const series = [{ id: run.info.run_id, name: runName(run), start: Number(run.info.start_time) }];
  const made = [];
  if (keys.length === 0) {
    fill(body, h('p', { class: 'muted' }, 'This run logged no metrics.'));
    return null;
  }
  if (only) {
    const box = h('div', { class: 'card' });
    fill(body, h('p', {}, h('a', { href: link(['runs', run.info.run_id], { tab: 'charts' }) }, '← all charts')), box);
    made.push(metricChart(box, { runs: series, key: only, title: only, height: 420, live: running }));
  } else {
    const grid = h('div', { class: 'cards' });
    fill(body, grid);
    // Charts are drawn when scrolled into view: a run may have hundreds of metrics.
    const seen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting || e.target.dataset.started) continue;
        e.target.dataset.started = '1';
        made.push(metricChart(e.target.querySelector('.slot'), { runs: series, key: e.target.dataset.metric, height: 220, controls: false, live: running }));
      }
    }, { rootMargin: '200px' });
    for (const k of keys) {
      const card = h('section', { class: 'card', dataset: { metric: k } },
        h('h3', {}, h('a', { href: link(['runs', run.info.run_id], { tab: 'charts', metric: k }) }, k)), h('div', { class: 'slot' }));
      grid.append(card);
      seen.observe(card);
    }
    made.push({ destroy: () => seen.disconnect() });
  }
  return () => made.forEach((c) => c.destroy());
}
