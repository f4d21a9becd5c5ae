-- wrk script: password sign-ins for one account.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"Correct-Horse-Battery-9"}'
