-- wrk script of scripts/bench-serve.sh: POSTs of one fixture made to differ the way real traffic
-- does, so that nothing the sidecar remembers between requests (the `phone` rule's memo of recent
-- numbers) makes the benchmark look better than real traffic.
--
--   wrk -s scripts/bench-serve-bodies.lua URL -- FIXTURE CONTENT-TYPE BODIES SPEC...
--
-- FIXTURE is a JSON object or a form/query body; BODIES distinct requests are prepared before the
-- run and sent in turn. Each SPEC changes the last digits of one field's value in every body:
--   FIELD:N        N random digits (a caller's number, a call id: almost never seen before)
--   FIELD:N:POOL   one of POOL values (0 to POOL-1, N digits with leading zeros): the numbers
--                  that do come back call after call (answering points, numbers dialed)
-- Every thread prepares the same bodies from the same seed: the run is repeatable. A SPEC whose
-- field is missing, or whose last N characters are not digits, stops the run.

local requests = {}
local count = 0
local next_index = 1

-- The start and end of FIELD's value in a JSON object (`"FIELD": "value"`) or a form body
-- (`FIELD=value&`), or an error.
local function locate(text, field)
  local quoted = field:gsub("%p", "%%%0")
  local _, e = text:find('"' .. quoted .. '"%s*:%s*"')
  if e then
    local close = text:find('"', e + 1, true)
    return e + 1, close - 1
  end
  local s, e2 = text:find("^" .. quoted .. "=")
  if not s then
    s, e2 = text:find("&" .. quoted .. "=")
  end
  if s then
    local amp = text:find("&", e2 + 1, true)
    return e2 + 1, (amp or (#text + 1)) - 1
  end
  error("the fixture has no field " .. field)
end

local function vary(text, spec)
  local field, n, pool = spec:match("^([^:]+):(%d+):?(%d*)$")
  if not field then
    error("a SPEC is FIELD:DIGITS or FIELD:DIGITS:POOL, not " .. spec)
  end
  n = tonumber(n)
  local from, to = locate(text, field)
  if to - from + 1 < n or not text:sub(to - n + 1, to):match("^%d+$") then
    error(field .. " does not end with " .. n .. " digits: " .. text:sub(from, to))
  end
  local value
  if pool ~= "" then
    value = math.random(0, tonumber(pool) - 1)
  else
    value = math.random(0, 10 ^ n - 1)
  end
  return text:sub(1, to - n) .. string.format("%0" .. n .. "d", value) .. text:sub(to + 1)
end

function init(args)
  local path, content_type, n = args[1], args[2], tonumber(args[3] or "")
  if not path or not content_type or not n then
    error("usage: wrk -s bench-serve-bodies.lua URL -- FIXTURE CONTENT-TYPE BODIES SPEC...")
  end
  local f = assert(io.open(path, "rb"))
  -- A form body is one line: the fixture file's final newline is not part of it.
  local fixture = f:read("*a"):gsub("\n$", "")
  f:close()
  math.randomseed(20261123)
  local headers = { ["Content-Type"] = content_type }
  for i = 1, n do
    local body = fixture
    for k = 4, #args do
      body = vary(body, args[k])
    end
    requests[i] = wrk.format("POST", nil, headers, body)
  end
  count = n
end

function request()
  local r = requests[next_index]
  next_index = next_index % count + 1
  return r
end

-- One line the benchmark script reads: counts and latency percentiles (microseconds).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,'
      .. '"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.status, e.connect + e.read + e.write + e.timeout))
end
