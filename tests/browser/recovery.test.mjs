// Recovery in headless Chromium at a phone's width: a password reset confirmed with a
// security key (Chrome's virtual authenticator), and a form sent from an address that is
// not the public URL getting a page that says where Latchkey lives.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, startServer, startMailSink, mailedToken as mailedTokenIn, launchBrowser, signIn, api as apiAt, assertAccessible, assertFitsPhone } from "./lib.mjs";

let sink, mailDir, server, base, browser;
const api = (path, options) => apiAt(base, path, options);

before(async () => {
  let smtpUrl;
  ({ sink, mailDir, smtpUrl } = await startMailSink());
  ({ server, base } = await startServer(["--smtp-url", smtpUrl, "--webauthn-plans", "all"]));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill();
  sink?.kill();
});

const mailedToken = (to, subject, page) => mailedTokenIn(mailDir, to, subject, page);

test("an account whose only factor is a security key resets its password with that key", async () => {
  const email = "kim@example.com";
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const verify = await mailedToken(email, "Confirm your email address", "verify-email");
  assert.equal((await api("/api/v1/auth/email/verify", { body: { token: verify } })).status, 204);

  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "usb", hasResidentKey: false, hasUserVerification: false,
      automaticPresenceSimulation: true },
  });
  await signIn(page, base, email);
  await page.getByLabel("Key name").fill("Blue key");
  await page.getByRole("button", { name: "Add security key" }).click();
  await page.getByText("Security key added").waitFor();

  await page.goto(base + "/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  const token = await mailedToken(email, "Reset your password", "reset-password");
  await page.goto(`${base}/reset-password?token=${token}`);
  await assertAccessible(page, "reset page with a security key");
  await assertFitsPhone(page, "reset page with a security key");
  await page.getByLabel("New password").fill("Another-Long-Phrase-42");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByText("Your new password is set").waitFor();

  const login = await api("/api/v1/auth/login", { body: { email, password: "Another-Long-Phrase-42" } });
  assert.equal(login.body.status, "mfa_required", "the key stays the second factor");
  assert.ok(login.body.methods.includes("webauthn"), JSON.stringify(login.body));
  await context.close();
});

test("a form sent from the listening address instead of the public URL gets a page that links to it", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const other = base.replace("localhost", "127.0.0.1");
  await page.goto(other + "/signup");
  await page.getByLabel("Email").fill("newcomer@example.com");
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/signup") && r.request().method() === "POST"),
    page.getByRole("button", { name: "Create account" }).click(),
  ]);
  assert.equal(answer.status(), 403);
  assert.match(answer.headers()["content-type"], /text\/html/);
  await page.getByRole("heading", { name: "This form was refused" }).waitFor();
  const link = page.getByRole("link", { name: base });
  assert.equal(await link.getAttribute("href"), base + "/");
  await assertAccessible(page, "refused form");
  await assertFitsPhone(page, "refused form");
  await link.click();
  await page.getByRole("button", { name: "Sign in", exact: true }).waitFor();
  await context.close();
});
