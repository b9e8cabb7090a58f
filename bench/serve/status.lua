-- wrk script: POST bodies and count answers by status class, for the saturation run
-- (bench/serve_saturation.sh). BODY_FILE names one JSON body (good requests), or BAD=1 cycles
-- through malformed ones (bad JSON, wrong types, a missing feature, an unknown model, NaN text)
-- sent to the route in REQ_PATH (the unknown model goes to its own path). Prints a JSON line
-- with the counts per class at the end.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local bad = os.getenv("BAD") == "1"
local path = os.getenv("REQ_PATH") or "/predict/m"
local good_body
if not bad then
  local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
  good_body = f:read("*a")
  f:close()
end
local bad_requests = {
  {path, '{"f0": 1.0, "f1": '},
  {path, '{"f0": "seven", "f1": 1.0}'},
  {path, '{"f1": 1.0}'},
  {path, '[1, 2, 3]'},
  {"/predict/nope", '{"f0": 1.0}'},
  {path, '{"f0": NaN, "f1": "x"}'},
}
local n = 0
counts = {c2 = 0, c4 = 0, c5 = 0, other = 0}

function request()
  n = n + 1
  if bad then
    local r = bad_requests[(n % #bad_requests) + 1]
    return wrk.format("POST", r[1], {["Content-Type"] = "application/json"}, r[2])
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, good_body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then counts.c2 = counts.c2 + 1
  elseif status >= 400 and status < 500 then counts.c4 = counts.c4 + 1
  elseif status >= 500 then counts.c5 = counts.c5 + 1
  else counts.other = counts.other + 1 end
end

function done(summary, latency, requests)
  local t = {c2 = 0, c4 = 0, c5 = 0, other = 0}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for k, v in pairs(c) do t[k] = t[k] + v end
  end
  io.write(string.format('{"kind": "%s", "2xx": %d, "4xx": %d, "5xx": %d, "other": %d, "errors": %d, "p99_ms": %.3f}\n',
    bad and "bad" or "good", t.c2, t.c4, t.c5, t.other,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(99) / 1000))
end
