-- wrk script: password sign-ins of the 64 bench accounts in turn (bench1..bench64).
-- Concurrent sign-ins are of different people, as in real traffic: an attempt is counted
-- against its account before the password is checked, so eight at once on one account
-- would meet that account's lock (five in flight), not the hasher.
local n = math.random(64)

request = function()
  n = n % 64 + 1
  local body = '{"email":"bench' .. n .. '@example.com","password":"Correct-Horse-Battery-9"}'
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end
