// What the browser tests share: a real server on a free port, the JSON API, sign-in, and
// the axe-core accessibility check (WCAG 2 A and AA, and best practices).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
export const BIN = process.env.LATCHKEY_BIN ?? join(TARGET, "debug/latchkey");
export const PASSWORD = "Correct-Horse-Battery-9";
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * A `latchkey serve` on a fresh data dir (or `dataDir`). It takes a free port itself
 * (`--listen 127.0.0.1:0`, no port picked and released here) and says which, with its
 * public URL: `http://localhost:PORT` (WebAuthn needs a domain, not an IP).
 */
export async function startServer(extraArgs = [], dataDir = mkdtempSync(join(tmpdir(), "latchkey-browser-"))) {
  const server = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, ...extraArgs], {
    stdio: ["ignore", "pipe", "inherit"],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LATCHKEY_"))),
  });
  const base = await new Promise((ok, fail) => {
    let said = "";
    server.stdout.on("data", (d) => {
      said += d.toString();
      const m = said.match(/\(public URL (\S+)\)/);
      if (m) ok(m[1]);
    });
    server.on("exit", (code) => fail(new Error(`latchkey exited with ${code}: ${said}`)));
  });
  return { server, base };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** The JSON API; Node's fetch may try ::1 for localhost while the server listens on 127.0.0.1. */
export async function api(base, path, { method = "POST", token, body } = {}) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(base.replace("localhost", "127.0.0.1") + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

export async function signIn(page, base, email, password = PASSWORD) {
  await page.goto(base + "/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/**
 * Runs axe-core on the page as it stands and fails with every violation named. The
 * script goes in through the DevTools protocol, so the page's CSP (no inline script)
 * stays as it is.
 */
export async function assertAccessible(page, what) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() =>
    globalThis.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(found, [], `${what}: axe-core found violations`);
  assert.ok(result.passes.length > 10, `${what}: axe-core ran its checks`);
}

/** No sideways scrolling at a phone's width. */
export async function assertFitsPhone(page, what) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(overflow, false, `${what}: no sideways scrolling at a phone's width`);
}

/**
 * A real SMTP server (tests/smtp/sink.py, aiosmtpd) that writes each message it receives
 * as JSON into `mailDir`; `smtpUrl` is what `--smtp-url` takes.
 */
export async function startMailSink() {
  const mailDir = mkdtempSync(join(tmpdir(), "latchkey-mail-"));
  const sink = spawn("python3", [join(ROOT, "tests/smtp/sink.py"), "--dir", mailDir, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((ok, fail) => {
    sink.stdout.on("data", (d) => { const m = d.toString().match(/listening (\d+)/); if (m) ok(m[1]); });
    sink.on("exit", (code) => fail(new Error(`the SMTP sink exited with ${code} (pip install aiosmtpd)`)));
  });
  return { sink, mailDir, smtpUrl: `smtp://127.0.0.1:${port}` };
}

/** The messages in `mailDir` to `to` with `subject`, oldest first. */
export function mailsTo(mailDir, to, subject) {
  return readdirSync(mailDir).filter((f) => f.endsWith(".json")).sort()
    .map((f) => JSON.parse(readFileSync(join(mailDir, f), "utf8")))
    .filter((m) => m.headers.to === to && m.headers.subject === subject);
}

/** The token of the `page` link in the newest message to `to` with `subject`, waiting for it. */
export async function mailedToken(mailDir, to, subject, page) {
  for (let i = 0; i < 200; i++) {
    const found = mailsTo(mailDir, to, subject);
    if (found.length) {
      const m = found[found.length - 1].text.match(new RegExp(`/${page}\\?token=(\\S+)`));
      assert.ok(m, `no /${page} link`);
      return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no message "${subject}" to ${to}`);
}
