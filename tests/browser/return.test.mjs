// Back to the app: the sign-in page follows `rd` only to its own origin, and /step-up asks
// a signed-in browser for a second factor and returns. Headless Chromium at a phone's width.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import { PASSWORD, startServer, launchBrowser, api as apiAt, assertAccessible, assertFitsPhone } from "./lib.mjs";

let server, base, browser;
const api = (path, options) => apiAt(base, path, options);

before(async () => {
  ({ server, base } = await startServer());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function signInAt(page, url, email) {
  await page.goto(url);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

test("sign-in with rd lands on the page asked for; a foreign rd does not", async () => {
  const email = "rae@example.com";
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signInAt(page, `${base}/?rd=${encodeURIComponent("/tokens")}`, email);
  await page.waitForURL(`${base}/tokens`);
  await context.clearCookies();
  await signInAt(page, `${base}/?rd=${encodeURIComponent("https://evil.example/")}`, email);
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  assert.equal(new URL(page.url()).origin, base);
  await context.close();
});

test("step-up asks for a code on the current session and returns to rd", async () => {
  const email = "sam@example.com";
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signInAt(page, base + "/", email);
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  const token = (await context.cookies()).find((c) => c.name.includes("session")).value;
  const setup = await api("/api/v1/me/2fa/totp/setup", { token });
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(setup.body.secret), digits: 6, period: 30 });
  assert.equal((await api("/api/v1/me/2fa/totp/confirm", { token, body: { code: totp.generate() } })).status, 200);

  await page.goto(`${base}/step-up?rd=${encodeURIComponent("/tokens")}`);
  await assertAccessible(page, "/step-up");
  await assertFitsPhone(page, "/step-up");
  assert.ok(await page.getByRole("button", { name: "Sign out" }).isVisible());
  // The confirming code must be a step the enrolment did not use: wait for the next one.
  const step = Math.floor(Date.now() / 30000);
  while (Math.floor(Date.now() / 30000) === step) await new Promise((r) => setTimeout(r, 500));
  await page.getByLabel("Authentication code").fill(totp.generate());
  await page.getByRole("button", { name: "Verify" }).click();
  await page.waitForURL(`${base}/tokens`);
  const sessions = await api("/api/v1/me/sessions", { method: "GET", token });
  assert.deepEqual(sessions.body[0].amr, ["pwd", "otp", "mfa"]);
  await context.close();
});
