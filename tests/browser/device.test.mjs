// Device sign-in (RFC 8628) end to end: the example CLI asks, a signed-in person with 2FA
// approves in Chromium, the CLI stores its token, and the session shows on the Security
// page. Every page on the way is checked with axe-core at a phone's width.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as OTPAuth from "otpauth";
import { TARGET, PASSWORD, startServer, launchBrowser, api, signIn, assertAccessible, assertFitsPhone } from "./lib.mjs";

const EXAMPLE = join(TARGET, "debug/examples/device_login");
const EMAIL = "dev@example.com";
let server, base, browser;

before(async () => {
  ({ server, base } = await startServer());
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill();
});

test("a CLI signs in through the browser of a 2FA user", async () => {
  assert.equal((await api(base, "/api/v1/auth/signup", { body: { email: EMAIL, password: PASSWORD } })).status, 201);
  const token = (await api(base, "/api/v1/auth/login", { body: { email: EMAIL, password: PASSWORD } })).body.token;
  const setup = await api(base, "/api/v1/me/2fa/totp/setup", { token, body: {} });
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(setup.body.secret), digits: 6, period: 30 });
  assert.equal((await api(base, "/api/v1/me/2fa/totp/confirm", { token, body: { code: totp.generate() } })).status, 200);

  // The CLI starts and shows its code.
  const dir = mkdtempSync(join(tmpdir(), "latchkey-device-"));
  const tokenFile = join(dir, "token");
  const cli = spawn(EXAMPLE, ["--url", base, "--client-name", "cmdop CLI 1.4", "--device-name", "cmdop CLI 1.4 on Linux",
    "--token-file", tokenFile], { stdio: ["ignore", "pipe", "inherit"] });
  let printed = "";
  const exited = new Promise((ok) => cli.on("exit", ok));
  const url = await new Promise((ok, fail) => {
    cli.stdout.on("data", (d) => {
      printed += d.toString();
      const m = printed.match(/\(or open (\S+)\)/);
      if (m) ok(m[1]);
    });
    cli.on("exit", (code) => fail(new Error(`the example exited with ${code}: ${printed}`)));
  });
  const userCode = printed.match(/enter the code ([A-Z]{4}-[A-Z]{4})/)[1];

  // The person opens the link in a signed-out browser at a phone's width, signs in
  // (password, then a code) and lands back on the device page.
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel("Email").fill(EMAIL);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByLabel("Authentication code").waitFor();
  await assertAccessible(page, "the second step");
  await page.getByLabel("Authentication code").fill(totp.generate({ timestamp: Date.now() + 30_000 }));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { name: "Sign in a device" }).waitFor();
  const box = page.getByLabel("Code");
  assert.equal(await box.inputValue(), userCode, "the link only fills the box");
  await assertAccessible(page, "/device (code)");
  await assertFitsPhone(page, "/device (code)");

  // A wrong code is said so; the right one shows what is asking.
  await box.fill("BCDF-GHJK" === userCode ? "BCDF-GHJL" : "BCDF-GHJK");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("alert").getByText("That code is not valid").waitFor();
  await page.getByLabel("Code").fill(userCode.toLowerCase().replace("-", ""));
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByText("cmdop CLI 1.4 on Linux").waitFor();
  await assertAccessible(page, "/device (approve)");
  await assertFitsPhone(page, "/device (approve)");
  await page.getByRole("button", { name: "Approve" }).click();
  await page.getByText("Approved: cmdop CLI 1.4 is signed in.").waitFor();
  await assertAccessible(page, "/device (done)");

  // The CLI gets its session and keeps the token to itself.
  assert.equal(await exited, 0, printed);
  assert.match(printed, /Signed in; token saved to/);
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const cliToken = readFileSync(tokenFile, "utf8").trim();
  assert.equal((await api(base, "/api/v1/me", { method: "GET", token: cliToken })).body.email, EMAIL);

  // ...which is an ordinary session on the Security page.
  await page.goto(base + "/security");
  const row = page.locator('section[aria-labelledby="sessions-h"] tr', { hasText: "cmdop CLI 1.4 on Linux" });
  assert.equal(await row.count(), 1, "the CLI's session is listed");
  await context.close();
});

test("every page passes axe-core at a phone's width", async () => {
  const email = "axe@example.com";
  assert.equal((await api(base, "/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(base + "/");
  await assertAccessible(page, "sign-in");
  await assertFitsPhone(page, "sign-in");
  await signIn(page, base, email);
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  await assertAccessible(page, "/security");
  await assertFitsPhone(page, "/security");
  await page.getByRole("button", { name: "Set up authenticator app" }).click();
  await page.getByLabel("Authentication code").waitFor();
  await assertAccessible(page, "/security (authenticator setup)");
  await page.goto(base + "/tokens");
  await assertAccessible(page, "/tokens");
  await assertFitsPhone(page, "/tokens");
  await context.close();
});
