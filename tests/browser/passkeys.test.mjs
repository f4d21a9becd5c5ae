// Passkeys in headless Chromium with its virtual authenticator (resident keys, user
// verification): added on the Security page, then signing in with no password typed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as OTPAuth from "otpauth";
import { PASSWORD, startServer, launchBrowser, signIn, api as apiAt, assertAccessible, assertFitsPhone } from "./lib.mjs";

let server, base, browser;
const api = (path, options) => apiAt(base, path, options);

before(async () => {
  ({ server, base } = await startServer(["--webauthn-plans", "all"]));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

/**
 * A phone-width page with a platform authenticator that holds passkeys and checks a
 * fingerprint. Chromium's virtual authenticator answers a conditional (autofill) request
 * at once, as if the person had picked the passkey from the Email field's suggestions; with
 * `autofill: false` the page is told the browser has no such autofill, so that the button
 * is what signs in.
 */
async function phoneWithAuthenticator({ autofill }) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  if (!autofill) {
    await page.addInitScript(() => {
      if (globalThis.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
  }
  // Record what the page tells the browser through the WebAuthn Signal API.
  await page.addInitScript(() => {
    globalThis.__signals = [];
    const original = globalThis.PublicKeyCredential?.signalUnknownCredential;
    if (!original) return;
    PublicKeyCredential.signalUnknownCredential = (options) => {
      globalThis.__signals.push(options);
      return original.call(PublicKeyCredential, options);
    };
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { context, page, cdp, authenticatorId };
}

async function accountWithPasskey(email, { autofill }) {
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const phone = await phoneWithAuthenticator({ autofill });
  const { page } = phone;
  await signIn(page, base, email);
  await page.getByLabel("Key name").fill("This phone");
  await page.getByRole("button", { name: "Add passkey" }).click();
  await page.locator("#key-status:not(:empty), .notice[role=status]").first().waitFor();
  assert.equal(await page.locator("#key-status").textContent(), "", "the passkey was refused");
  await page.getByText("Passkey added").waitFor();
  return phone;
}

test("a passkey added on the Security page signs in with its button, no password typed", async () => {
  const email = "pia@example.com";
  const { context, page, cdp, authenticatorId } = await accountWithPasskey(email, { autofill: false });
  const row = page.locator("tr", { hasText: "This phone" });
  assert.match(await row.textContent(), /Passkey/);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential");
  await assertAccessible(page, "Security page with a passkey");
  await assertFitsPhone(page, "Security page with a passkey");

  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in with a passkey" }).waitFor();
  assert.equal(await page.getByLabel("Email").getAttribute("autocomplete"), "username webauthn");
  await assertAccessible(page, "sign-in page with passkeys");
  await assertFitsPhone(page, "sign-in page with passkeys");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/security");
  const history = page.locator('section[aria-labelledby="history-h"] tbody tr');
  assert.match(await history.first().textContent(), /passkey/i);

  // Removing it needs a second factor left: an authenticator app, set up through the API
  // with this browser's session.
  const cookies = await context.cookies();
  const token = cookies.find((c) => c.name.includes("session")).value;
  const setup = await api("/api/v1/me/2fa/totp/setup", { token });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(setup.body.secret), digits: 6, period: 30 });
  assert.equal((await api("/api/v1/me/2fa/totp/confirm", { token, body: { code: totp.generate() } })).status, 200);

  await page.reload();
  await page.locator("tr", { hasText: "This phone" }).getByRole("button", { name: "Remove" }).click();
  await page.getByText("Passkey removed.").waitFor();
  const signals = await page.evaluate(() => globalThis.__signals);
  const expected = credentials[0].credentialId.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  assert.deepEqual(signals, [{ rpId: "localhost", credentialId: expected }], "the browser is told the passkey is gone");
  await context.close();
});

test("the browser's autofill signs in with the passkey: a conditional request started on load", async () => {
  const { context, page } = await accountWithPasskey("ravi@example.com", { autofill: true });
  assert.equal(await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable()), true,
    "Chromium offers conditional mediation");
  const started = [];
  page.on("request", (r) => { if (r.url().endsWith("/api/v1/auth/passkey/start")) started.push(r.url()); });
  // Signing out lands on the sign-in page, whose conditional request the virtual
  // authenticator answers: nothing is typed and no button is pressed.
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL((url) => url.pathname === "/security");
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  assert.equal(started.length, 1, "one conditional request, started on load");
  const history = page.locator('section[aria-labelledby="history-h"] tbody tr');
  assert.match(await history.first().textContent(), /passkey/i);
  await context.close();
});

test("a stale session confirms with the passkey itself before removing a key", async () => {
  // Its own server, whose re-auth window is one minute, so that the session goes stale.
  const { server: quick, base: quickBase } = await startServer(["--webauthn-plans", "all", "--reauth-minutes", "1"]);
  try {
    const email = "uma@example.com";
    const call = (path, options) => apiAt(quickBase, path, options);
    assert.equal((await call("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
    const { context, page } = await phoneWithAuthenticator({ autofill: false });
    await signIn(page, quickBase, email);
    await page.getByLabel("Key name").fill("This phone");
    await page.getByRole("button", { name: "Add passkey" }).click();
    await page.getByText("Passkey added").waitFor();
    const token = (await context.cookies()).find((c) => c.name.includes("session")).value;
    const setup = await call("/api/v1/me/2fa/totp/setup", { token });
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(setup.body.secret), digits: 6, period: 30 });
    assert.equal((await call("/api/v1/me/2fa/totp/confirm", { token, body: { code: totp.generate() } })).status, 200);

    await new Promise((r) => setTimeout(r, 61_000));
    await page.goto(quickBase + "/security");
    await page.locator("tr", { hasText: "This phone" }).getByRole("button", { name: "Remove" }).click();
    await page.getByRole("heading", { name: "Confirm it's you" }).waitFor();
    await assertAccessible(page, "the re-auth page with a passkey");
    await assertFitsPhone(page, "the re-auth page");
    await page.getByRole("button", { name: "Confirm with a passkey" }).click();
    await page.getByText("Confirmed. You can make the change now.").waitFor();
    await page.locator("tr", { hasText: "This phone" }).getByRole("button", { name: "Remove" }).click();
    await page.getByText("Passkey removed.").waitFor();
    await context.close();
  } finally {
    quick.kill();
  }
});

test("step-up with a key proves it on the current session and returns to rd", async () => {
  const email = "stella@example.com";
  const { context, page } = await accountWithPasskey(email, { autofill: false });
  const token = (await context.cookies()).find((c) => c.name.includes("session")).value;
  const before = await api("/api/v1/me/sessions", { method: "GET", token });
  assert.deepEqual(before.body[0].amr, ["pwd"], "a password sign-in so far");

  await page.goto(`${base}/step-up?rd=${encodeURIComponent("/tokens")}`);
  await assertAccessible(page, "/step-up with a key");
  await assertFitsPhone(page, "/step-up with a key");
  // The key came with backup codes: they stay the other way to step up.
  assert.equal(await page.getByLabel("Authentication code").count(), 1);
  await page.getByRole("button", { name: "Use a security key or passkey" }).click();
  await page.waitForURL(`${base}/tokens`);
  const after = await api("/api/v1/me/sessions", { method: "GET", token });
  assert.ok(after.body[0].amr.includes("hwk") && after.body[0].amr.includes("mfa"), JSON.stringify(after.body[0].amr));
  await context.close();
});
