-- wrk script: a sign-in storm for one account, counting the answers by status so the
-- run can show that every one was 200, 429 or 503 (never a 500 or a dropped connection).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"Correct-Horse-Battery-9"}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      total[status] = (total[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(total) do
    table.insert(parts, status .. "=" .. n)
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format("statuses %s; socket errors: connect %d, read %d, write %d, timeout %d\n",
    table.concat(parts, " "), e.connect, e.read, e.write, e.timeout))
end
