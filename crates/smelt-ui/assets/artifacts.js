// A run's artifacts: a folder tree (listed lazily) and a preview of the chosen file — images,
// HTML reports in a sandboxed frame, JSON, CSV as a table, text, model files (signature,
// parameters) and safetensors headers (tensor names, types, shapes).

import { artifactUrl, listArtifacts, smeltGet } from './api.js';
import { errorBox, fill, fmtBytes, h, kvTable, link, replaceQuery } from './util.js';

const IMAGE = /\.(png|jpe?g|gif|webp|svg)$/i;
const HTML = /\.html?$/i;
const CSV = /\.(csv|tsv)$/i;
const TEXT = /(\.(txt|log|md|ya?ml|toml|py|rs|sh|cfg|ini|xml|sql|r|ipynb|jsonl)|(^|\/)(MLmodel|requirements\.txt|conda\.yaml|python_env\.yaml|Dockerfile|LICENSE))$/i;
const PREVIEW_BYTES = 2_000_000;

/** Reads at most `max` bytes of a URL (streamed; the rest is never downloaded). */
async function readPrefix(url, max) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, 200)}`);
  const reader = res.body.getReader();
  const parts = [];
  let n = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
    if (n >= max) { truncated = true; reader.cancel().catch(() => {}); break; }
  }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  return { bytes: bytes.subarray(0, Math.min(n, max)), truncated };
}

export async function artifactBrowser(body, run, path) {
  const runId = run.info.run_id;
  const tree = h('nav', { class: 'tree', 'aria-label': 'Artifacts' });
  const preview = h('div', { class: 'preview' });
  fill(body, h('div', { class: 'split' }, tree, preview));
  let current = null;

  const open = (file) => {
    if (current) current.removeAttribute('aria-current');
    current = tree.querySelector(`a[data-path="${CSS.escape(file.path)}"]`);
    if (current) current.setAttribute('aria-current', 'true');
    replaceQuery({ path: file.path });
    showFile(preview, runId, file).catch((e) => fill(preview, errorBox(e)));
  };

  const listInto = async (el, dir, depth) => {
    let files;
    try {
      files = await listArtifacts(runId, dir);
    } catch (e) {
      el.append(errorBox(e));
      return [];
    }
    files.sort((a, b) => (b.is_dir - a.is_dir) || a.path.localeCompare(b.path));
    for (const f of files) {
      const name = f.path.split('/').pop();
      const pad = { paddingLeft: `${12 + depth * 14}px` };
      if (f.is_dir) {
        const kids = h('div', { hidden: true });
        let loaded = false;
        const toggle = h('span', { class: 'dir', role: 'button', tabindex: 0, style: pad, 'aria-expanded': 'false' }, `▸ ${name}/`);
        const flip = async () => {
          const openNow = kids.hidden;
          kids.hidden = !openNow;
          toggle.setAttribute('aria-expanded', String(openNow));
          toggle.textContent = `${openNow ? '▾' : '▸'} ${name}/`;
          if (openNow && !loaded) { loaded = true; await listInto(kids, f.path, depth + 1); }
        };
        toggle.addEventListener('click', flip);
        toggle.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); flip(); } });
        el.append(toggle, kids);
        if (path.startsWith(`${f.path}/`)) await flip();
      } else {
        el.append(h('a', { href: link(['runs', runId], { tab: 'artifacts', path: f.path }), style: pad, dataset: { path: f.path }, onclick: (e) => { e.preventDefault(); open(f); } },
          name, h('span', { class: 'size' }, fmtBytes(f.file_size))));
      }
    }
    return files;
  };

  const top = await listInto(tree, '', 0);
  if (top.length === 0) {
    fill(tree, h('p', { class: 'muted', style: { padding: '0 12px' } }, 'No artifacts.'));
    fill(preview, h('p', { class: 'muted' }, 'This run logged no artifacts.'));
    return;
  }
  const target = path && tree.querySelector(`a[data-path="${CSS.escape(path)}"]`);
  if (target) target.click();
  else {
    const first = tree.querySelector('a[data-path]');
    fill(preview, h('p', { class: 'muted' }, 'Choose a file to preview it.'));
    if (first && !path) first.click();
  }
}

async function showFile(preview, runId, file) {
  const url = artifactUrl(runId, file.path);
  const name = file.path.split('/').pop();
  const head = h('div', { class: 'toolbar' }, h('strong', { class: 'mono' }, file.path), h('span', { class: 'muted' }, fmtBytes(file.file_size)),
    h('a', { href: url, download: name }, 'Download'));
  fill(preview, head, h('p', { class: 'muted' }, 'Loading…'));
  let view;
  if (IMAGE.test(name)) {
    view = h('img', { src: url, alt: file.path });
  } else if (HTML.test(name)) {
    // An opaque-origin sandbox: the report's scripts run, but cannot reach this page or the API.
    view = h('iframe', { src: `${url}&preview=html`, sandbox: 'allow-scripts', title: file.path, referrerpolicy: 'no-referrer' });
  } else if (/\.safetensors$/i.test(name)) {
    view = await safetensorsView(url);
  } else if (/\.parquet$/i.test(name)) {
    view = parquetTable(await smeltGet('ui/table-preview', { run_id: runId, path: file.path, rows: 100 }));
  } else {
    const { bytes, truncated } = await readPrefix(url, PREVIEW_BYTES);
    if (bytes.includes(0)) {
      view = h('p', { class: 'muted' }, 'A binary file: download it to open it.');
    } else {
      const text = new TextDecoder().decode(bytes);
      const note = truncated ? h('p', { class: 'muted' }, `Showing the first ${fmtBytes(PREVIEW_BYTES)}.`) : null;
      if (/\.json$/i.test(name)) view = h('div', {}, note, jsonView(text, truncated));
      else if (CSV.test(name)) view = h('div', {}, note, csvTable(text, /\.tsv$/i.test(name) ? '\t' : ',', truncated));
      else view = h('div', {}, note, h('pre', { class: 'text', dataset: { kind: TEXT.test(name) ? 'text' : 'other' } }, text));
    }
  }
  fill(preview, head, view);
}

function jsonView(text, truncated) {
  let value;
  try { value = JSON.parse(text); } catch {
    return h('pre', { class: 'text' }, truncated ? text : `Not valid JSON:\n${text}`);
  }
  const parts = [];
  if (value && value.format === 'smelt-model') parts.push(smeltModelSummary(value));
  else if (value && typeof value === 'object' && (value.signature || (value.params && (value.kind || value.format || value.model)))) {
    parts.push(modelSummary(value));
  }
  parts.push(h('pre', { class: 'text' }, JSON.stringify(value, null, 2)));
  return h('div', {}, parts);
}

/** A Smelt model's manifest (model.json): its signature, what it is and how it was trained. */
function smeltModelSummary(m) {
  const meta = m.metadata || {};
  const out = m.output || {};
  const inputs = (m.input || []).map((f) => {
    const kind = f.kind || {};
    const cats = kind.categories || kind.levels || kind.values;
    return h('tr', {}, h('td', { class: 'mono' }, f.name), h('td', { class: 'muted' }, f.ltype || kind.kind || ''),
      h('td', { class: 'muted' }, Array.isArray(cats) ? cats.slice(0, 20).join(', ') + (cats.length > 20 ? ` … (${cats.length})` : '') : ''));
  });
  const facts = [
    { key: 'kind', value: m.kind },
    { key: 'model', value: meta.model },
    { key: 'task', value: out.task },
    { key: 'target', value: meta.target },
    { key: 'classes', value: Array.isArray(out.classes) ? out.classes.join(', ') : undefined },
    { key: 'probabilities', value: out.has_proba === undefined ? undefined : out.has_proba ? 'yes' : 'no' },
    { key: 'trained on', value: meta.data ? `${meta.data.rows ?? '?'} rows of ${meta.data.path ?? 'a table'}` : undefined },
    { key: 'data fingerprint', value: meta.data && meta.data.fingerprint },
    { key: 'fit time', value: meta.fit_seconds === undefined ? undefined : `${Number(meta.fit_seconds).toFixed(2)} s` },
    { key: 'smelt', value: m.smelt_version },
  ].filter((x) => x.value !== undefined && x.value !== null && x.value !== '');
  const params = Object.entries(meta.params || {}).map(([key, value]) => ({ key, value: typeof value === 'object' ? JSON.stringify(value) : String(value) }));
  const metrics = Object.entries(meta.metrics || {}).flatMap(([split, ms]) => Object.entries(ms || {}).map(([k, v]) => ({ key: `${split} ${k}`, value: typeof v === 'number' ? String(Number(v.toPrecision(6))) : JSON.stringify(v) })));
  return h('div', { class: 'cards model-summary' },
    h('section', { class: 'card' }, h('h3', {}, `Signature: ${inputs.length} inputs`),
      h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Input'), h('th', {}, 'Type'), h('th', {}, 'Categories'))), h('tbody', {}, inputs))),
    h('section', { class: 'card' }, h('h3', {}, 'Model'), kvTable(facts),
      h('h3', {}, 'Parameters'), kvTable(params, { empty: 'Defaults (no parameter given).' })),
    metrics.length ? h('section', { class: 'card' }, h('h3', {}, 'Metrics at training'), kvTable(metrics)) : null);
}

/** A model file's signature (inputs, outputs, classes) and parameters, above its JSON. */
function modelSummary(m) {
  const sig = m.signature || {};
  const cols = (list) => (Array.isArray(list) ? list : []).map((c) => h('tr', {}, h('td', { class: 'mono' }, c.name ?? ''), h('td', { class: 'muted' }, c.type ?? c.dtype ?? ''),
    h('td', { class: 'muted' }, Array.isArray(c.categories) ? c.categories.join(', ') : (c.shape ? JSON.stringify(c.shape) : ''))));
  const params = m.params && typeof m.params === 'object' ? Object.entries(m.params).map(([key, value]) => ({ key, value: typeof value === 'object' ? JSON.stringify(value) : String(value) })) : [];
  return h('div', { class: 'cards model-summary' },
    h('section', { class: 'card' }, h('h3', {}, 'Signature'),
      sig.inputs ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Input'), h('th', {}, 'Type'), h('th', {}, 'Categories / shape'))), h('tbody', {}, cols(sig.inputs))) : h('p', { class: 'muted' }, 'No input signature.'),
      sig.outputs ? h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Output'), h('th', {}, 'Type'), h('th', {}, ''))), h('tbody', {}, cols(sig.outputs))) : null,
      sig.classes || m.classes ? h('p', {}, 'Classes: ', h('code', {}, (sig.classes || m.classes).join(', '))) : null),
    h('section', { class: 'card' }, h('h3', {}, `Parameters${m.kind ? ` of ${m.kind}` : ''}`), kvTable(params, { empty: 'No parameters.' })));
}

/** A small CSV parser (quotes, doubled quotes, CRLF) for the first rows of a preview. */
export function parseCsv(text, sep = ',', maxRows = 101) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length && rows.length < maxRows) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === sep) { row.push(field); field = ''; i++; continue; }
    if (c === '\n' || c === '\r') {
      row.push(field); field = '';
      rows.push(row); row = [];
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++; continue;
    }
    field += c; i++;
  }
  if ((field !== '' || row.length) && rows.length < maxRows) { row.push(field); rows.push(row); }
  return rows;
}

function csvTable(text, sep, truncated) {
  const rows = parseCsv(text, sep, 101);
  if (rows.length === 0) return h('p', { class: 'muted' }, 'An empty file.');
  const [header, ...body] = rows;
  const lines = (text.match(/\n/g) || []).length;
  return h('div', {},
    h('p', { class: 'muted' }, `${header.length} columns · first ${body.length} rows${truncated || lines > body.length + 1 ? ' shown' : ''}`),
    h('div', { style: { overflow: 'auto', maxHeight: '72vh' } }, h('table', { class: 'grid csv' },
      h('thead', {}, h('tr', {}, header.map((c) => h('th', {}, c)))),
      h('tbody', {}, body.map((r) => h('tr', {}, r.map((c) => h('td', { class: /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(c) ? 'num' : '' }, c))))))));
}

/** The server's preview of a Parquet file: schema, row count, first rows. */
function parquetTable(p) {
  const cols = p.columns || [];
  return h('div', {},
    h('p', { class: 'muted' }, `${cols.length} columns · ${p.num_rows === null || p.num_rows === undefined ? '' : `${Number(p.num_rows).toLocaleString()} rows · `}first ${p.rows.length} shown`),
    h('div', { style: { overflow: 'auto', maxHeight: '72vh' } }, h('table', { class: 'grid csv parquet' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { title: c.type }, c.name, h('span', { class: 'colkind' }, c.type))))),
      h('tbody', {}, p.rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: /^([iuf]\d+|Int|UInt|Float|Decimal)/.test(cols[i].type) ? 'num' : '' }, c === null ? h('span', { class: 'muted' }, 'null') : c))))))));
}

async function safetensorsView(url) {
  const { bytes } = await readPrefix(url, 8);
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (!(len > 0 && len < 50_000_000)) return h('p', { class: 'muted' }, 'Not a safetensors file (bad header length).');
  const all = await readPrefix(url, 8 + len);
  const header = JSON.parse(new TextDecoder().decode(all.bytes.subarray(8, 8 + len)));
  const meta = header.__metadata__ || {};
  const tensors = Object.entries(header).filter(([k]) => k !== '__metadata__');
  return h('div', {},
    h('p', {}, `${tensors.length} tensors`),
    h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, h('th', {}, 'Tensor'), h('th', {}, 'Type'), h('th', {}, 'Shape'))),
      h('tbody', {}, tensors.map(([k, t]) => h('tr', {}, h('td', { class: 'mono' }, k), h('td', {}, t.dtype), h('td', { class: 'mono' }, JSON.stringify(t.shape)))))),
    Object.keys(meta).length ? h('div', {}, h('h3', {}, 'Metadata'), kvTable(Object.entries(meta).map(([key, value]) => ({ key, value })))) : null);
}
