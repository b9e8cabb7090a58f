// The model registry: #/models (search, paging), #/models/<name> (aliases with "move alias",
// versions) and #/models/<name>/versions/<v> (details, lineage back to run, data and commit,
// monitoring runs and evaluation reports).

import {
  h, fill, link, replaceQuery, fmtTime, fmtAgo, fmtNum, fmtBytes, kvTable, errorBox, markRendered, statusBadge, runName,
} from './util.js';
import { mlflowGet, mlflowSend, smeltGet, searchRuns, listArtifacts } from './api.js';

export async function render(main, route) {
  const [, name, sub, version] = route.parts;
  if (!name) return modelsList(main, route);
  if (sub === 'versions' && version) return versionPage(main, name, version);
  return modelPage(main, name);
}

/** A string literal of MLflow's filter grammar ('' doubles a quote). */
const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;
/** A LIKE pattern matching `s` anywhere (backslash escapes % and _). */
const likeAnywhere = (s) => quote(`%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);

const aliasBadge = (alias, version) => h('span', { class: 'badge alias', title: version ? `${alias} → version ${version}` : alias },
  alias, version ? ` · v${version}` : '');
const when = (ms) => h('span', { title: fmtTime(ms) }, fmtAgo(ms));
const crumbs = (...items) => h('div', { class: 'crumbs' }, items.flatMap((x) => [x, ' / ']));
const tagBadges = (tags, max = 3) => {
  const t = tags || [];
  return [t.slice(0, max).map((x) => h('span', { class: 'badge', title: `${x.key}: ${x.value}` }, `${x.key}: ${x.value}`)),
    t.length > max ? h('span', { class: 'muted' }, ` +${t.length - max}`) : null];
};
const versionLink = (name, v) => h('a', { href: link(['models', name, 'versions', v]) }, `Version ${v}`);
const runLink = (id, label) => h('a', { href: link(['runs', id]), class: label ? null : 'mono', title: id }, label || id.slice(0, 8));
const truncate = (s, n) => (s && s.length > n ? `${s.slice(0, n - 1)}…` : s || '');

// ---------------------------------------------------------------------------------------------
// #/models

const PAGE = 100;
let prevTokens = []; // tokens of the pages before the current one (in-memory "Previous")

async function modelsList(main, route) {
  const t0 = performance.now();
  let q = route.query.get('q') || '';
  let token = route.query.get('page') || '';
  if (!token) prevTokens = [];
  const box = h('input', {
    type: 'search', class: 'wide', 'data-search': true, value: q, placeholder: 'Filter models by name  ( / )', 'aria-label': 'Filter models by name',
  });
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(main, h('h1', {}, 'Models'), h('div', { class: 'toolbar' }, box), body);

  let ctl = null;
  async function load() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    const r = await mlflowGet('registered-models/search', {
      max_results: PAGE, page_token: token, filter: q ? `name ILIKE ${likeAnywhere(q)}` : undefined, order_by: 'name ASC',
    }, ctl.signal);
    const models = r.registered_models || [];
    const next = r.next_page_token;
    const go = (tok, back) => () => {
      if (back) tok = prevTokens.pop() || '';
      else prevTokens.push(token);
      token = tok;
      replaceQuery({ page: token });
      load().catch(show);
    };
    const pager = h('div', { class: 'pager' },
      h('button', { type: 'button', disabled: !token, onclick: go('', true) }, '← Previous'),
      h('span', {}, `${models.length} model${models.length === 1 ? '' : 's'} on this page`),
      h('button', { type: 'button', disabled: !next, onclick: go(next, false) }, 'Next →'));
    if (!models.length) {
      fill(body, h('p', { class: 'muted empty' }, q ? `No model's name contains “${q}”.` : ['No registered models yet. Register one with ', h('code', {}, 'smelt models register'), ' or MLflow’s client.']), token ? pager : null);
      return;
    }
    fill(body, h('table', { class: 'grid models' },
      h('thead', {}, h('tr', {}, ['Name', 'Latest version', 'Aliases', 'Description', 'Last updated', 'Tags'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, models.map((m) => {
        const latest = (m.latest_versions || []).map((v) => v.version).sort((a, b) => b - a)[0];
        return h('tr', {},
          h('td', {}, h('a', { href: link(['models', m.name]) }, m.name)),
          h('td', {}, latest ? versionLink(m.name, latest) : h('span', { class: 'muted' }, '—')),
          h('td', {}, (m.aliases || []).map((a) => [aliasBadge(a.alias, a.version), ' '])),
          h('td', { class: 'desc', title: m.description || '' }, truncate(m.description, 90)),
          h('td', {}, when(m.last_updated_timestamp)),
          h('td', {}, tagBadges(m.tags)));
      }))), (token || next) ? pager : null);
  }
  const show = (e) => { if (e.name !== 'AbortError') fill(body, errorBox(e)); };

  let timer = null;
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      q = box.value.trim();
      token = '';
      prevTokens = [];
      replaceQuery({ q, page: '' });
      load().catch(show);
    }, 200);
  });
  await load();
  markRendered(main, 'models', t0);
  return () => { clearTimeout(timer); if (ctl) ctl.abort(); };
}

// ---------------------------------------------------------------------------------------------
// #/models/<name>

/** Every version of a model, newest first. */
async function allVersions(name) {
  const out = [];
  let token;
  do {
    const r = await mlflowGet('model-versions/search', {
      filter: `name=${quote(name)}`, order_by: 'version_number DESC', max_results: 1000, page_token: token,
    });
    out.push(...(r.model_versions || []));
    token = r.next_page_token;
  } while (token);
  return out;
}

async function modelPage(main, name) {
  const t0 = performance.now();
  const [{ registered_model: m }, versions] = await Promise.all([
    mlflowGet('registered-models/get', { name }), allVersions(name)]);
  const rerender = () => modelPage(main, name);
  const aliases = [...(m.aliases || [])].sort((a, b) => a.alias.localeCompare(b.alias));
  const runCells = new Map(); // run id → cells to fill with the run's name

  fill(main,
    crumbs(h('a', { href: '#/models' }, 'Models')),
    h('h1', {}, m.name),
    m.description ? h('p', { class: 'description' }, m.description) : h('p', { class: 'muted' }, 'No description.'),
    h('p', { class: 'muted meta' }, `Created ${fmtTime(m.creation_timestamp)} · last updated `, when(m.last_updated_timestamp),
      ` · ${versions.length} version${versions.length === 1 ? '' : 's'}`),
    h('div', { class: 'cards' },
      h('section', { class: 'card', 'aria-labelledby': 'aliases-h' },
        h('h2', { id: 'aliases-h' }, 'Aliases'),
        aliases.length ? h('table', { class: 'kv aliases' }, h('tbody', {}, aliases.map((a) => h('tr', {},
          h('th', { scope: 'row' }, h('span', { class: 'badge alias' }, a.alias)),
          h('td', {}, '→ ', versionLink(name, a.version), ' ',
            h('button', {
              type: 'button', class: 'small', 'data-move': a.alias, disabled: versions.length < 2, 'aria-label': `Move alias ${a.alias}`,
              onclick: () => aliasDialog({ name, alias: a.alias, from: a.version, versions, done: rerender }),
            }, 'Move'))))))
          : h('p', { class: 'muted' }, 'No aliases. An alias (e.g. champion) names the version to serve.'),
        h('button', {
          type: 'button', 'data-add-alias': true, disabled: !versions.length,
          onclick: () => aliasDialog({ name, versions, done: rerender }),
        }, '+ Add alias')),
      h('section', { class: 'card' }, h('h2', {}, 'Tags'), kvTable(m.tags, { empty: 'No tags.' }))),
    h('h2', {}, 'Versions'),
    versions.length ? h('table', { class: 'grid versions' },
      h('thead', {}, h('tr', {}, ['Version', 'Aliases', 'Stage', 'Status', 'Created', 'Run', 'Source'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, versions.map((v) => {
        const run = h('td', {}, v.run_id ? runLink(v.run_id) : '');
        if (v.run_id) runCells.set(v.run_id, [...(runCells.get(v.run_id) || []), run]);
        return h('tr', {},
          h('td', {}, versionLink(name, v.version)),
          h('td', {}, (v.aliases || []).map((a) => [h('span', { class: 'badge alias' }, a), ' '])),
          h('td', {}, v.current_stage && v.current_stage !== 'None' ? h('span', { class: 'badge' }, v.current_stage) : h('span', { class: 'muted' }, 'None')),
          h('td', {}, h('span', { class: `badge status-${(v.status || '').toLowerCase()}` }, (v.status || '').toLowerCase())),
          h('td', {}, when(v.creation_timestamp)),
          run,
          h('td', { class: 'mono', title: v.source || '' }, v.source || ''));
      })))
      : h('p', { class: 'muted' }, 'No versions yet.'));
  markRendered(main, 'model', t0);

  // Run names, once known (first 100 runs; a failure leaves the short id).
  const ctl = new AbortController();
  [...runCells.keys()].slice(0, 100).forEach((id) => {
    mlflowGet('runs/get', { run_id: id }, ctl.signal).then((r) => {
      for (const td of runCells.get(id)) fill(td, runLink(id, runName(r.run)));
    }).catch(() => {});
  });
  return () => ctl.abort();
}

/**
 * The "move alias" / "add alias" dialog: a version select (and a name box for a new alias), the
 * sentence to confirm, Cancel / Confirm. Confirm posts registered-models/alias and calls done().
 */
function aliasDialog({ name, alias, from, versions, done }) {
  const isNew = !alias;
  const nameBox = isNew ? h('input', { type: 'text', name: 'alias', required: true, placeholder: 'e.g. champion', autocomplete: 'off', pattern: '[A-Za-z0-9_\\-]+' }) : null;
  // Default: the newest version other than the alias's current one.
  const initial = (versions.find((v) => String(v.version) !== String(from)) || versions[0]).version;
  const pick = h('select', { name: 'version', 'aria-label': 'Version' }, versions.map((v) => h('option', {
    value: v.version, selected: v.version === initial,
  }, `Version ${v.version}${(v.aliases || []).length ? ` (${v.aliases.join(', ')})` : ''}`)));
  const sentence = h('p', { class: 'confirm-text', 'aria-live': 'polite' });
  const err = h('div');
  const confirm = h('button', { type: 'submit', class: 'primary', value: 'confirm' }, 'Confirm');
  const cancel = h('button', { type: 'button', value: 'cancel' }, 'Cancel');
  const form = h('form', { method: 'dialog' },
    h('h2', {}, isNew ? 'Add an alias' : `Move alias ${alias}`),
    isNew ? h('label', { class: 'field' }, 'Alias', nameBox) : null,
    h('label', { class: 'field' }, 'Version', pick),
    sentence, err,
    h('div', { class: 'actions' }, cancel, confirm));
  const dlg = h('dialog', { class: 'alias-dialog', 'aria-label': isNew ? 'Add an alias' : `Move alias ${alias}` }, form);

  function update() {
    const a = isNew ? nameBox.value.trim() : alias;
    const v = pick.value;
    const taken = isNew && versions.find((x) => (x.aliases || []).includes(a));
    const valid = a && /^[A-Za-z0-9_-]+$/.test(a) && !/^v\d+$/i.test(a) && a !== 'latest';
    if (!isNew) fill(sentence, `Move alias `, h('b', {}, alias), ` from version ${from} to version ${v}?`);
    else if (!a) fill(sentence, h('span', { class: 'muted' }, 'Name the alias.'));
    else if (!valid) fill(sentence, h('span', { class: 'muted' }, 'An alias holds letters, digits, - and _ (not "latest" or v<N>).'));
    else if (taken) fill(sentence, `Move alias `, h('b', {}, a), ` from version ${taken.version} to version ${v}?`);
    else fill(sentence, `Set alias `, h('b', {}, a), ` on version ${v}?`);
    confirm.disabled = !valid || (!isNew && String(v) === String(from)) || (taken && String(taken.version) === String(v));
  }
  pick.addEventListener('change', update);
  if (nameBox) nameBox.addEventListener('input', update);
  cancel.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => dlg.remove());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    confirm.disabled = true;
    fill(err);
    try {
      await mlflowSend('registered-models/alias', { name, alias: isNew ? nameBox.value.trim() : alias, version: pick.value });
      dlg.close();
      done();
    } catch (x) {
      fill(err, errorBox(x));
      confirm.disabled = false;
    }
  });
  update();
  document.body.append(dlg);
  dlg.showModal();
  (nameBox || pick).focus();
}

// ---------------------------------------------------------------------------------------------
// #/models/<name>/versions/<v>

async function versionPage(main, name, version) {
  const t0 = performance.now();
  const ctl = new AbortController();
  const { model_version: mv } = await mlflowGet('model-versions/get', { name, version }, ctl.signal);
  const stage = mv.current_stage && mv.current_stage !== 'None' ? mv.current_stage : 'None';
  const lineageEl = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const monitorEl = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const reportsEl = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const runCell = h('span', {}, mv.run_id ? runLink(mv.run_id) : ''); // the run's name once lineage knows it

  fill(main,
    crumbs(h('a', { href: '#/models' }, 'Models'), h('a', { href: link(['models', name]) }, name)),
    h('h1', {}, `${name} · version ${mv.version}`, (mv.aliases || []).map((a) => h('span', { class: 'badge alias' }, a))),
    mv.description ? h('p', { class: 'description' }, mv.description) : null,
    h('div', { class: 'cards' },
      h('section', { class: 'card' }, h('h2', {}, 'Details'), h('table', { class: 'kv' }, h('tbody', {},
        [['Version', mv.version], ['Stage', stage], ['Status', mv.status + (mv.status_message ? ` (${mv.status_message})` : '')],
          ['Aliases', (mv.aliases || []).length ? (mv.aliases || []).map((a) => [h('span', { class: 'badge alias' }, a), ' ']) : h('span', { class: 'muted' }, 'none — ', h('a', { href: link(['models', name]) }, 'set one on the model page'))],
          ['Created', fmtTime(mv.creation_timestamp)], ['Last updated', fmtTime(mv.last_updated_timestamp)],
          ['Run', mv.run_id ? runCell : h('span', { class: 'muted' }, 'none')],
          ['Source', h('span', { class: 'mono' }, mv.source || '')], ['User', mv.user_id]]
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v)))))),
      h('section', { class: 'card' }, h('h2', {}, 'Tags'), kvTable(mv.tags, { empty: 'No tags.' }))),
    h('h2', {}, 'Lineage'), lineageEl,
    h('h2', {}, 'Monitoring'), monitorEl,
    h('h2', {}, 'Evaluation reports'), reportsEl);

  // The three sections load in parallel; each shows its own error.
  const section = (el, p) => p.then((c) => fill(el, c)).catch((e) => { if (e.name !== 'AbortError') fill(el, errorBox(e)); });
  await Promise.all([
    section(lineageEl, lineage(name, mv, runCell, ctl.signal)),
    section(monitorEl, monitoring(name, mv.version, ctl.signal)),
    section(reportsEl, reports(mv.run_id)),
  ]);
  markRendered(main, 'model-version', t0);
  return () => ctl.abort();
}

/** Lineage cards: the run (params, metrics), its data (fingerprints), code and environment. */
async function lineage(name, mv, runCell, signal) {
  if (!mv.run_id) return h('p', { class: 'muted' }, 'This version was registered without a run, so it has no lineage.');
  const l = await smeltGet('lineage', { name, version: mv.version }, signal);
  const run = l.run || {};
  const info = run.info || {};
  const data = run.data || {};
  const code = l.code || {};
  const lm = l.logged_model && (l.logged_model.info || l.logged_model);
  const env = Object.entries(l.environment || {}).map(([key, value]) => ({ key, value: String(value) }));
  const datasets = l.datasets || [];
  const expLink = info.experiment_id ? h('a', { href: link(['experiments', info.experiment_id]) }, `experiment ${info.experiment_id}`) : null;
  if (expLink) mlflowGet('experiments/get', { experiment_id: info.experiment_id }, signal).then((r) => fill(expLink, r.experiment.name)).catch(() => {});
  if (info.run_id) fill(runCell, runLink(info.run_id, runName(run)), ' ', statusBadge(info.status));
  const dur = info.end_time && info.start_time ? ` · ${Math.round((info.end_time - info.start_time) / 1000)} s` : '';
  return h('div', { class: 'cards lineage' },
    h('section', { class: 'card' },
      h('h3', {}, 'Run ', runLink(info.run_id || mv.run_id, runName(run)), ' ', info.status ? statusBadge(info.status) : null),
      h('p', { class: 'muted' }, `Started ${fmtTime(info.start_time)}${dur}`, info.user_id ? ` · ${info.user_id}` : '',
        expLink ? [' · in ', expLink] : ''),
      lm ? h('p', {}, 'Logged model ', h('span', { class: 'mono' }, lm.name || lm.model_id), lm.model_id ? h('span', { class: 'muted mono' }, ` (${lm.model_id})`) : '') : null,
      kvTable(data.params, { caption: 'Parameters', empty: 'No parameters.' }),
      kvTable(data.metrics, { caption: 'Metrics', empty: 'No metrics.', format: (v) => fmtNum(v) })),
    h('section', { class: 'card' },
      h('h3', {}, 'Data'),
      datasets.length ? datasets.map((d) => {
        const cols = (d.schema && (d.schema.mlflow_colspec || d.schema.columns)) || [];
        const src = d.source && typeof d.source === 'object' ? d.source.uri || d.source.path || JSON.stringify(d.source) : d.source;
        return h('div', { class: 'dataset' },
          h('div', {}, h('b', {}, d.name || 'dataset'), d.context ? [' ', h('span', { class: 'badge' }, d.context)] : null),
          h('table', { class: 'kv' }, h('tbody', {},
            [['Fingerprint', h('span', { class: 'mono fingerprint' }, d.fingerprint || '')], ['Rows', d.num_rows ?? ''],
              ['Source', src ? h('span', { class: 'mono' }, src) : ''],
              ['Columns', cols.length ? h('span', { title: cols.map((c) => `${c.name}: ${c.type}`).join('\n') }, `${cols.length}: ${truncate(cols.map((c) => c.name).join(', '), 60)}`) : '']]
              .filter(([, v]) => v !== '').map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))));
      })
        : h('p', { class: 'muted' }, 'No datasets were logged with the run.')),
    h('section', { class: 'card' },
      h('h3', {}, 'Code and environment'),
      h('table', { class: 'kv' }, h('tbody', {},
        h('tr', {}, h('th', { scope: 'row' }, 'Git commit'), h('td', { class: 'mono', title: code.git_commit || '' },
          code.git_commit ? code.git_commit.slice(0, 12) : h('span', { class: 'muted' }, 'not recorded'),
          code.git_dirty ? h('span', { class: 'badge dirty', title: 'uncommitted changes when the run started' }, 'dirty') : '')),
        code.source ? h('tr', {}, h('th', { scope: 'row' }, 'Source'), h('td', { class: 'mono' }, code.source)) : null)),
      kvTable(env, { caption: 'Environment', empty: 'No environment recorded.' })));
}

const MONITOR_METRICS = ['rows', 'drift_share', 'drifted_features', 'dataset_drift', 'prediction_drift_score', 'prediction_drifted'];

/** The runs `smelt watch` logged for this version in the experiment "monitoring". */
async function monitoring(name, version, signal) {
  let exp;
  try {
    exp = (await mlflowGet('experiments/get-by-name', { experiment_name: 'monitoring' }, signal)).experiment;
  } catch (e) {
    if (e.status === 404 || e.code === 'RESOURCE_DOES_NOT_EXIST') return noMonitoring(name, version);
    throw e;
  }
  const r = await searchRuns({
    experimentIds: [exp.experiment_id], maxResults: 50, orderBy: 'attributes.start_time DESC',
    filter: `tags."smelt.monitor.model" = ${quote(name)} AND tags."smelt.monitor.version" = ${quote(version)}`,
  }, signal);
  const runs = r.runs || [];
  if (!runs.length) return noMonitoring(name, version);
  const val = (run, k) => (run.data.metrics || []).find((m) => m.key === k);
  const realized = [...new Set(runs.flatMap((x) => (x.data.metrics || []).map((m) => m.key).filter((k) => k.startsWith('realized_'))))].sort();
  const cols = [...MONITOR_METRICS.filter((k) => runs.some((x) => val(x, k))), ...realized];
  return h('div', {},
    h('table', { class: 'grid monitoring' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Watch run'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Started'),
        h('th', { scope: 'col', class: 'num', title: 'windows evaluated' }, 'Windows'),
        cols.map((k) => h('th', { scope: 'col', class: 'num' }, k)), h('th', { scope: 'col' }, 'Source'))),
      h('tbody', {}, runs.map((x) => {
        const drift = val(x, 'dataset_drift');
        const steps = Math.max(-1, ...(x.data.metrics || []).map((m) => m.step || 0)) + 1;
        return h('tr', { class: drift && drift.value > 0 ? 'drifted' : null },
          h('td', {}, h('a', { href: link(['runs', x.info.run_id]) }, runName(x)),
            drift && drift.value > 0 ? [' ', h('span', { class: 'badge drift' }, 'drift')] : null),
          h('td', {}, statusBadge(x.info.status)),
          h('td', {}, when(x.info.start_time)),
          h('td', { class: 'num' }, steps || ''),
          cols.map((k) => { const m = val(x, k); return h('td', { class: 'num' }, m ? fmtNum(m.value) : ''); }),
          h('td', { class: 'mono' }, (x.data.tags || []).find((t) => t.key === 'smelt.monitor.source')?.value || ''));
      }))),
    h('p', { class: 'muted small' }, 'Latest window of each watch session; open a run for its charts.'));
}

function noMonitoring(name, version) {
  return h('p', { class: 'muted empty' }, 'No monitoring runs for this version. ',
    h('code', {}, 'smelt watch'), ' with a tracking server logs them to the experiment “monitoring”.');
}

/** HTML files at the top of the run's artifacts and one folder down. */
async function reports(runId) {
  if (!runId) return h('p', { class: 'muted' }, 'No run, so no reports.');
  const top = await listArtifacts(runId, '');
  const dirs = top.filter((f) => f.is_dir).slice(0, 50);
  const below = await Promise.all(dirs.map((d) => listArtifacts(runId, d.path).catch(() => [])));
  const html = [...top, ...below.flat()].filter((f) => !f.is_dir && /\.html?$/i.test(f.path));
  if (!html.length) return h('p', { class: 'muted empty' }, 'No HTML report among the run’s artifacts (top level or one folder down).');
  return h('ul', { class: 'reports' }, html.map((f) => h('li', {},
    h('a', { href: link(['runs', runId], { tab: 'artifacts', path: f.path }) }, f.path),
    f.file_size !== undefined ? h('span', { class: 'muted' }, ` ${fmtBytes(f.file_size)}`) : null)));
}
