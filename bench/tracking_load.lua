-- wrk script for bench/tracking_load.py: POSTs MLflow logging calls to one pre-created run.
-- env RUN_ID   the run to log to
--     MODE     "batch" (runs/log-batch, POINTS metric points per request) or "metric" (runs/log-metric)
--     POINTS   points per log-batch request (default 100)
--     KEY      metric key (default "m")
-- Every request carries new steps: wrk thread N logs steps N*1e8 + counter*POINTS + i, so no two points
-- collide and the server must store each one (checked afterwards through metrics/get-history).
-- done() prints one JSON line starting with "WRK " (requests, HTTP status >= 400 answers (http_errors), socket errors, latency percentiles).
local run_id = assert(os.getenv("RUN_ID"), "RUN_ID is required")
local mode = os.getenv("MODE") or "batch"
local points = tonumber(os.getenv("POINTS") or "100")
local key = os.getenv("KEY") or "m"
local counter = 0
local nthreads = 0
local ts0 = 1700000000000

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if mode == "batch" then
    wrk.path = "/api/2.0/mlflow/runs/log-batch"
  else
    wrk.path = "/api/2.0/mlflow/runs/log-metric"
  end
end

function request()
  counter = counter + 1
  local t = tid or 0
  if mode == "batch" then
    local base = t * 100000000 + counter * points
    local parts = {}
    for i = 0, points - 1 do
      local s = base + i
      parts[i + 1] = string.format('{"key":"%s","value":%d.5,"timestamp":%d,"step":%d}', key, s % 1000, ts0 + s, s)
    end
    return wrk.format(nil, nil, nil,
      '{"run_id":"' .. run_id .. '","metrics":[' .. table.concat(parts, ",") .. ']}')
  end
  local s = t * 100000000 + counter
  return wrk.format(nil, nil, nil, string.format(
    '{"run_id":"%s","key":"%s","value":%d.5,"timestamp":%d,"step":%d}', run_id, key, s % 1000, ts0 + s, s))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_s":%.3f,"http_errors":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"latency_ms_p50":%.3f,"latency_ms_p99":%.3f,"latency_ms_max":%.3f}\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
