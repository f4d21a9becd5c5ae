-- GET /api/v1/me (or LATCHKEY_BENCH_PATH, such as /auth/verify), each request with the next of many sessions of many accounts, so
-- that no two requests in a row share a session lookup. bench/run writes the tokens.
local tokens = {}
for line in io.lines(os.getenv("LATCHKEY_BENCH_TOKENS")) do
  tokens[#tokens + 1] = line
end
local i = math.random(#tokens)
-- LATCHKEY_BENCH_COOKIE=1: the session in the browser's cookie (what a proxy passes on to
-- /auth/verify) instead of a bearer token.
local cookie = os.getenv("LATCHKEY_BENCH_COOKIE") == "1"

request = function()
  i = i % #tokens + 1
  local headers
  if cookie then
    headers = { ["Cookie"] = "latchkey_session=" .. tokens[i] }
  else
    headers = { ["Authorization"] = "Bearer " .. tokens[i] }
  end
  return wrk.format("GET", (os.getenv("LATCHKEY_BENCH_PATH") or "/api/v1/me"), headers)
end
