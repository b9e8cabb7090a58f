// The server's JSON APIs: MLflow's REST API (as MLflow's own UI calls it, under /ajax-api) and
// Smelt's native additions. Every failure becomes an Error whose message is the server's.

const MLFLOW = '/ajax-api/2.0/mlflow/';

async function request(url, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new Error(`The server did not answer (${e.message}). Is \`smelt server\` still running?`);
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
  if (!res.ok) {
    const msg = json && json.message ? json.message : text.slice(0, 300) || res.statusText;
    const err = new Error(`${res.status} ${msg}`);
    err.status = res.status;
    err.code = json && json.error_code;
    throw err;
  }
  if (json === null) throw new Error(`${url}: the answer is not JSON`);
  return json;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** GET an MLflow endpoint: mlflowGet('runs/get', {run_id}). */
export function mlflowGet(path, params, signal) {
  return request(`${MLFLOW}${path}${query(params)}`, { signal });
}

/** POST (or PATCH/DELETE) an MLflow endpoint with a JSON body. */
export function mlflowSend(path, body, method = 'POST', signal) {
  return request(`${MLFLOW}${path}`, { method, body, signal });
}

/** GET a Smelt endpoint under /api/smelt/v1/. */
export function smeltGet(path, params, signal) {
  return request(`/api/smelt/v1/${path}${query(params)}`, { signal });
}

/** Every experiment (active ones; all pages). */
export async function allExperiments(viewType = 'ACTIVE_ONLY') {
  const out = [];
  let token;
  do {
    const r = await mlflowSend('experiments/search', { max_results: 1000, page_token: token, view_type: viewType });
    out.push(...(r.experiments || []));
    token = r.next_page_token;
  } while (token);
  return out;
}

/** One page of runs. */
export function searchRuns({ experimentIds, filter, orderBy, maxResults = 100, pageToken, viewType }, signal) {
  return mlflowSend('runs/search', {
    experiment_ids: experimentIds,
    filter: filter || '',
    order_by: orderBy ? [orderBy] : [],
    max_results: maxResults,
    page_token: pageToken,
    run_view_type: viewType || 'ACTIVE_ONLY',
  }, 'POST', signal);
}

/** A run by id. */
export async function getRun(runId, signal) {
  return (await mlflowGet('runs/get', { run_id: runId }, signal)).run;
}

/** A metric's history over several runs, downsampled by the server (first/min/max per bucket). */
export async function sampledHistory(runIds, key, { startStep, endStep, maxResults = 1000 } = {}, signal) {
  const r = await mlflowGet('metrics/get-history-bulk-interval', {
    run_ids: runIds, metric_key: key, start_step: startStep, end_step: endStep, max_results: maxResults,
  }, signal);
  return r.metrics || [];
}

/** The files directly under `path` in a run's artifacts. */
export async function listArtifacts(runId, path) {
  const r = await mlflowGet('artifacts/list', { run_id: runId, path: path || undefined });
  return r.files || [];
}

/** The URL that downloads one artifact file. */
export function artifactUrl(runId, path) {
  return `/get-artifact${query({ path, run_uuid: runId })}`;
}
