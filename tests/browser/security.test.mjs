// The sign-in and Security & 2FA pages in headless Chromium, against a real server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as OTPAuth from "otpauth";
import { ROOT, PASSWORD, startServer, launchBrowser, api as apiAt } from "./lib.mjs";

const ARTIFACTS = join(ROOT, "test-artifacts");
const EMAIL = "ada@example.com";

let server, base, browser;

const api = (path, options) => apiAt(base, path, options);

before(async () => {
  // Workspaces made through the API are on the operator's default plan: team here, so the
  // security-key test can make one (users cannot pick a plan themselves).
  ({ server, base } = await startServer(["--default-workspace-plan", "team"]));
  assert.equal((await api("/api/v1/auth/signup", { body: { email: EMAIL, password: PASSWORD } })).status, 201);
  browser = await launchBrowser();
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function signIn(page, { password = PASSWORD, remember = false, email = EMAIL } = {}) {
  await page.goto(base + "/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  if (remember) await page.getByLabel("Remember this device").check();
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

test("the whole security journey in a browser", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  // Sign in with a password.
  await signIn(page);
  if (process.env.DEBUG_PAGES) console.log(page.url(), await page.content());
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  for (const name of ["Password", "Two-factor authentication", "Active sessions", "Login history",
    "Trusted devices", "Hardware keys", "Workspace 2FA status"]) {
    assert.equal(await page.getByRole("heading", { level: 2, name, exact: true }).count(), 1, name);
  }
  assert.ok(await page.getByRole("link", { name: "API tokens" }).first().isVisible());

  // Enable TOTP: read the secret from the page, compute the code.
  await page.getByRole("button", { name: "Set up authenticator app" }).click();
  const secret = (await page.getByTestId("totp-secret").textContent()).trim();
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 });
  await page.getByLabel("Authentication code").fill(totp.generate());
  await page.getByRole("button", { name: "Verify" }).click();
  const codes = await page.locator("#backup-codes li").allTextContents();
  assert.equal(codes.length, 10);
  await page.getByRole("link", { name: "Done" }).click();
  await page.getByText("10 backup codes left.").waitFor();

  // Sign in again through the second step, remembering this device.
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await signIn(page, { remember: true });
  await page.getByLabel("Authentication code").fill(codes[0].trim());
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  assert.equal(await page.locator('section[aria-labelledby="trusted-h"] tbody tr').count(), 1);

  // ...and once more: the trusted device skips the step.
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await signIn(page);
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();

  // Sessions and history rows.
  const history = page.locator('section[aria-labelledby="history-h"] tbody tr');
  assert.ok((await history.count()) >= 3);
  assert.match(await history.nth(1).textContent(), /Yes/, "the remembered sign-in was 2FA-challenged");

  // Another session (a CLI, say) appears and can be signed out from here.
  const first = await api("/api/v1/auth/login", { body: { email: EMAIL, password: PASSWORD, device: { kind: "desktop", name: "CMDOP Desktop 2.3 (macOS)" } } });
  const done = await api("/api/v1/auth/mfa", { body: { mfa_token: first.body.mfa_token, method: "backup_code", code: codes[1] } });
  assert.equal(done.status, 200);
  await page.reload();
  const row = page.locator("tr", { hasText: "CMDOP Desktop 2.3 (macOS)" });
  await row.getByRole("button", { name: "Sign out" }).click();
  await page.getByText("That session is signed out.").waitFor();
  assert.equal(await page.locator("tr", { hasText: "CMDOP Desktop 2.3 (macOS)" }).count(), 0);
  assert.equal((await api("/api/v1/me", { method: "GET", token: done.body.token })).status, 401);

  // Change the password: a violation is shown in words, then it works.
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill("short");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByRole("alert").getByText("must be at least 12 characters").waitFor();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill("Brand-New-Secret-77");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Password changed.").waitFor();

  // A cross-site POST is refused, and so is a same-site one without the CSRF token.
  const crossSite = await context.request.post(base + "/security/sessions/revoke-others", {
    headers: { Origin: "https://evil.example" }, form: { csrf: "x" },
  });
  assert.equal(crossSite.status(), 403);
  const noToken = await context.request.post(base + "/security/sessions/revoke-others", {
    headers: { Origin: base }, form: { csrf: "forged" },
  });
  assert.equal(noToken.status(), 403);
  // A page that says why, never raw JSON.
  assert.match(noToken.headers()["content-type"], /text\/html/);
  assert.match(await noToken.text(), /This form was refused/);

  // Screenshots at desktop and phone widths, for a human to look at.
  await page.goto(base + "/security");
  await page.screenshot({ path: join(ARTIFACTS, "security-desktop.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(ARTIFACTS, "security-phone.png"), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(overflow, false, "no sideways scrolling at a phone's width");
  await context.close();
});

test("a security key added with Chromium's virtual authenticator signs in", async () => {
  const email = "kim@example.com";
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const login = await api("/api/v1/auth/login", { body: { email, password: PASSWORD } });
  const ws = await api("/api/v1/workspaces", { token: login.body.token, body: { name: "Engines", plan: "team" } });
  assert.equal(ws.status, 201);

  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "usb", hasResidentKey: false, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });

  await signIn(page, { email });
  await page.getByLabel("Key name").fill("Virtual key");
  await page.getByRole("button", { name: "Add security key" }).click();
  await page.locator("#key-status:not(:empty), .notice[role=status]").first().waitFor();
  assert.equal(await page.locator("#key-status").textContent().catch(() => ""), "", "the key was refused");
  await page.getByText("Security key added.").waitFor();
  assert.equal(await page.locator("#new-key-codes li").count(), 10, "the first factor shows backup codes");
  assert.equal(await page.locator("tr", { hasText: "Virtual key" }).count(), 1);

  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await signIn(page, { email });
  await page.getByRole("button", { name: "Use security key" }).click();
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  const history = page.locator('section[aria-labelledby="history-h"] tbody tr');
  assert.match(await history.first().textContent(), /Yes/, "signed in through the key");
  await context.close();
});

test("security headers forbid inline script and framing", async () => {
  const r = await fetch(base.replace("localhost", "127.0.0.1") + "/");
  assert.match(r.headers.get("content-security-policy"), /script-src 'self'/);
  assert.match(r.headers.get("content-security-policy"), /frame-ancestors 'none'/);
  assert.equal(r.headers.get("referrer-policy"), "same-origin");
});

test("the browser's cookies: HttpOnly, the second step in its own cookie, a sign-in ends the old session", async () => {
  const email = "cookie@example.com";
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const setupToken = (await api("/api/v1/auth/login", { body: { email, password: PASSWORD } })).body.token;
  const setup = await api("/api/v1/me/2fa/totp/setup", { token: setupToken });
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(setup.body.secret), digits: 6, period: 30 });
  assert.equal((await api("/api/v1/me/2fa/totp/confirm", { token: setupToken, body: { code: totp.generate() } })).status, 200);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  // A session someone left in this browser: another account's.
  assert.equal((await api("/api/v1/auth/signup", { body: { email: "left@example.com", password: PASSWORD } })).status, 201);
  await signIn(page, { email: "left@example.com" });
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  const left = (await context.cookies()).find((c) => c.name === "latchkey_session");
  assert.ok(left.httpOnly && left.sameSite === "Lax", JSON.stringify(left));

  // The next person signs in from the same browser (its cookie jar: page.request shares it).
  const form = (data) => ({ form: data, headers: { origin: base }, maxRedirects: 0 });
  const first = await page.request.post(base + "/login", form({ email, password: PASSWORD }));
  assert.equal(first.status(), 200, "the second step");
  const step = (await context.cookies()).find((c) => c.name === "latchkey_mfa");
  assert.ok(step && step.httpOnly, JSON.stringify(await context.cookies()));
  assert.ok(!(await first.text()).includes(step.value), "the step's token is not in the page");

  const now = Math.floor(Date.now() / 30000);
  while (Math.floor(Date.now() / 30000) === now) await new Promise((r) => setTimeout(r, 500));
  const done = await page.request.post(base + "/login/mfa", form({ code: totp.generate() }));
  assert.equal(done.status(), 303);
  const cookies = await context.cookies();
  assert.equal(cookies.find((c) => c.name === "latchkey_mfa"), undefined, "the step's cookie is cleared");
  const session = cookies.find((c) => c.name === "latchkey_session");
  assert.ok(session.httpOnly && session.value !== left.value);
  assert.equal((await api("/api/v1/me", { method: "GET", token: left.value })).status, 401, "the old session ended");
  assert.equal((await api("/api/v1/me", { method: "GET", token: session.value })).body.email, email);
  await context.close();
});
