// Sign-in through an OpenID provider in headless Chromium: the real redirects, with the
// browser's own cookie rules (SameSite=Lax on the way back from the provider).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, PASSWORD, startServer, launchBrowser } from "./lib.mjs";

const ARTIFACTS = join(ROOT, "test-artifacts");

let provider, server, base, browser;

before(async () => {
  provider = spawn("node", ["provider.mjs"], { cwd: join(ROOT, "tests/oidc"), stdio: ["pipe", "pipe", "ignore"] });
  const issuer = await new Promise((ok, fail) => {
    provider.stdout.on("data", (d) => {
      const m = d.toString().match(/issuer=(\S+)/);
      if (m) ok(m[1]);
    });
    provider.on("exit", (code) => fail(new Error(`the OpenID provider exited with ${code}`)));
  });

  const dataDir = mkdtempSync(join(tmpdir(), "latchkey-browser-oauth-"));
  const config = join(dataDir, "latchkey.toml");
  writeFileSync(config, `[[oauth.providers]]
id = "test"
name = "Test ID"
issuer = "${issuer}"
client_id = "latchkey"
client_secret = "latchkey-test-secret"
`);
  ({ server, base } = await startServer(["--config", config], dataDir));
  browser = await launchBrowser();
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
  provider?.kill();
});

test("a provider sign-in makes an account, which then sets a password", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();

  await page.goto(base + "/");
  await page.getByRole("button", { name: "Continue with Test ID" }).click();
  // The provider's own sign-in form: who the provider says this user is.
  await page.getByLabel("Subject").fill("browser-user");
  await page.getByLabel("Email").fill("grace@example.com");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();

  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  assert.equal(new URL(page.url()).pathname, "/security");
  await page.getByText("Set a password anyway: you need it for the recovery flow.").waitFor();
  await page.getByRole("listitem").filter({ hasText: "Test ID" }).filter({ hasText: "grace@example.com" }).waitFor();
  assert.equal(await page.getByLabel("Current password").count(), 0);
  await page.screenshot({ path: join(ARTIFACTS, "oauth-set-password.png"), fullPage: true });

  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Set a password" }).click();
  await page.getByRole("button", { name: "Change password" }).waitFor();
  await page.getByLabel("Current password").waitFor();

  // The password now signs in too.
  const fresh = await browser.newContext();
  const other = await fresh.newPage();
  await other.goto(base + "/");
  await other.getByLabel("Email").fill("grace@example.com");
  await other.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await other.getByRole("button", { name: "Sign in", exact: true }).click();
  await other.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  await fresh.close();
  await context.close();
});

test("a cancelled provider sign-in says so and leads back", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + "/");
  await page.getByRole("button", { name: "Continue with Test ID" }).click();
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("heading", { name: "Sign-in with Test ID did not work" }).waitFor();
  await page.getByRole("alert").filter({ hasText: "access_denied" }).waitFor();
  await page.getByRole("link", { name: "Back to sign in" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await context.close();
});
