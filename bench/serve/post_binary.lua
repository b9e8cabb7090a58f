-- wrk script: POST the binary-extension body in the file named by env BODY_FILE (a JSON header
-- of HEADER_LEN bytes, then the tensors' bytes) to the request path in env REQ_PATH.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = os.getenv("HEADER_LEN")
wrk.path = os.getenv("REQ_PATH") or "/v2/models/m/infer"
