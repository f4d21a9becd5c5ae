-- GET /api/v1/me (or LATCHKEY_BENCH_PATH, such as /auth/verify), each request with the next of many sessions of many accounts, so
-- that no two requests in a row share a session lookup. bench/run writes the tokens.
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_BENCH_TOKENS")) do
  tokens[#tokens + 1] = line
end
local i = math.random(#tokens)

request = function()
  i = i % #tokens + 1
  return wrk.format("GET", (os.getenv("LATCHKEY_BENCH_PATH") or "/api/v1/me"), { ["Authorization"] = "Bearer " .. tokens[i] })
end
