-- wrk script of scripts/bench-serve.sh: POSTs of Delacon call-end pushes that differ the way
-- real traffic does, so that nothing the sidecar remembers between requests (the `phone` rule's
-- memo of recent numbers) makes the benchmark look better than real traffic.
--
--   wrk -s scripts/bench-serve-bodies.lua URL -- FIXTURE.json [BODIES]
--
-- FIXTURE is the push to vary (tests/fixtures/delacon-call-end-to-leadsquared-call-log/
-- 06-full-push-answered.json); BODIES (default 20000) distinct requests are prepared before the
-- run and sent in turn, each with
--   - its own call id and its own caller: a random Australian mobile number (+61 41x xxx xxx),
--     so the caller's number is almost never one seen before;
--   - one of 200 answering points (agents' phones) and one of 20 tracking numbers dialed, the
--     numbers that do come back call after call.
-- Every thread prepares the same bodies from the same seed; the run is repeatable.

local requests = {}
local count = 0
local next_index = 1

local function replace_once(text, old, new)
  local from, to = string.find(text, old, 1, true)
  if not from or string.find(text, old, to + 1, true) then
    error("the fixture must contain " .. old .. " exactly once")
  end
  return string.sub(text, 1, from - 1) .. new .. string.sub(text, to + 1)
end

function init(args)
  local path = args[1] or error("usage: wrk -s bench-serve-bodies.lua URL -- FIXTURE.json [BODIES]")
  local n = tonumber(args[2] or "20000")
  local f = assert(io.open(path, "rb"))
  local fixture = f:read("*a")
  f:close()
  math.randomseed(20261123)
  local headers = { ["Content-Type"] = "application/json" }
  for i = 1, n do
    local body = fixture
    body = replace_once(body, '"1122340"', string.format('"%d"', 5000000 + i))
    body = replace_once(body, '"+61412345678"', string.format('"+6141%07d"', math.random(0, 9999999)))
    body = replace_once(body, '"0298765432"', string.format('"02987654%02d"', math.random(0, 99)))
    -- The answering points are 0298765400..99 and 0298775400..99: 200 numbers.
    if math.random(0, 1) == 1 then
      body = string.gsub(body, '"02987654', '"02987754', 1)
    end
    body = replace_once(body, '"0288889999"', string.format('"02888899%02d"', math.random(80, 99)))
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
