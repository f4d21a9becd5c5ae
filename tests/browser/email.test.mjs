// The pages behind mailed links, in headless Chromium at a phone's width, against a real
// server that mails a real SMTP server (tests/smtp/sink.py, aiosmtpd).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, startServer, startMailSink, mailsTo, launchBrowser, assertAccessible, assertFitsPhone } from "./lib.mjs";

let sink, mailDir, server, base, browser;

before(async () => {
  let smtpUrl;
  ({ sink, mailDir, smtpUrl } = await startMailSink());
  ({ server, base } = await startServer(["--smtp-url", smtpUrl]));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill();
  sink?.kill();
});

/** The link to `page` in the newest message to `to` with `subject`, waiting for it. */
async function mailedLink(to, subject, page, after = 0) {
  for (let i = 0; i < 200; i++) {
    // The sink names files by arrival: sorted, the last is the newest.
    const found = mailsTo(mailDir, to, subject);
    if (found.length > after) {
      const text = found[found.length - 1].text;
      const m = text.match(new RegExp(`(https?://\\S+/${page}\\?token=\\S+)`));
      assert.ok(m, `no /${page} link in: ${text}`);
      return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no message "${subject}" to ${to}`);
}

test("create an account, confirm the address, reset the password, lock the account: every page at a phone's width", async () => {
  const email = "lin@example.com";
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();

  await page.goto(base + "/");
  await page.getByRole("link", { name: "Create an account" }).click();
  await assertAccessible(page, "/signup");
  await assertFitsPhone(page, "/signup");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Security & 2FA" }).waitFor();
  await page.getByRole("region", { name: "Unconfirmed email" }).waitFor();
  await assertAccessible(page, "/security with the unconfirmed-address banner");
  await assertFitsPhone(page, "/security with the banner");
  await page.getByRole("button", { name: "Resend" }).click();
  await page.getByText("A new confirmation link is on its way").waitFor();

  const confirm = await mailedLink(email, "Confirm your email address", "verify-email", 1);
  await page.goto(confirm);
  await assertAccessible(page, "/verify-email");
  await page.getByRole("button", { name: "Confirm email" }).click();
  await page.getByText("Your email address is confirmed.").waitFor();
  await page.goto(base + "/security");
  assert.equal(await page.getByRole("region", { name: "Unconfirmed email" }).count(), 0, "the banner is gone");

  // The new-sign-in switch.
  await page.getByLabel("Email me when a device I have not used before signs in").uncheck();
  await page.getByRole("button", { name: "Save alert settings" }).click();
  await page.getByText("Your alert settings are saved.").waitFor();
  assert.equal(await page.getByLabel("Email me when a device I have not used before signs in").isChecked(), false);

  // Forgot the password.
  await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await assertAccessible(page, "/forgot-password");
  await assertFitsPhone(page, "/forgot-password");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await page.getByText("If an account uses that address").waitFor();
  const reset = await mailedLink(email, "Reset your password", "reset-password");
  await page.goto(reset);
  await assertAccessible(page, "/reset-password");
  await assertFitsPhone(page, "/reset-password");
  await page.getByLabel("New password").fill("Another-Long-Phrase-42");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByText("Your new password is set").waitFor();
  await page.goto(reset);
  await page.getByText("That link is unknown, used or expired.").waitFor();

  // The reset's alert carries the lock link.
  const lock = await mailedLink(email, "Your password was reset", "lock");
  await page.goto(lock);
  await assertAccessible(page, "/lock");
  await assertFitsPhone(page, "/lock");
  await page.getByRole("button", { name: "Lock my account" }).click();
  await page.getByText("Your account is locked").waitFor();
  await mailedLink(email, "Reset your password", "reset-password", 1);
  await context.close();
});
