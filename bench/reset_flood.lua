-- wrk script: a client looping on POST /auth/password/reset with links it holds (its own
-- account's, read from LATCHKEY_BENCH_RESET_TOKENS) and a password that each try would
-- have to hash. Each link serves 5 tries, the address 30 a quarter-hour: the rest must be
-- refused before any hash. Counts the answers by status.
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_BENCH_RESET_TOKENS")) do
  table.insert(tokens, line)
end
local n = math.random(#tokens)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

request = function()
  n = n % #tokens + 1
  local body = '{"token":"' .. tokens[n] .. '","new_password":"Correct-Horse-Battery-9"}'
  return wrk.format("POST", "/api/v1/auth/password/reset", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, status .. "=" .. count)
  end
  table.sort(parts)
  io.write("statuses " .. table.concat(parts, " ") .. "\n")
end
