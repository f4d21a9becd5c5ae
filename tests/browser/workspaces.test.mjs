// The workspace console at a phone's width in headless Chromium: an owner invites by
// email from the console, the invitee accepts on /invite, and the owner sees them in
// the members table, filters those without 2FA, saves the policy and removes them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, startServer, startMailSink, mailedToken as mailedTokenIn, launchBrowser, signIn, api as apiAt, assertAccessible, assertFitsPhone } from "./lib.mjs";

let sink, mailDir, server, base, browser;
const api = (path, options) => apiAt(base, path, options);

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

const mailedToken = (to, subject, page) => mailedTokenIn(mailDir, to, subject, page);

async function verifiedAccount(email) {
  assert.equal((await api("/api/v1/auth/signup", { body: { email, password: PASSWORD } })).status, 201);
  const token = await mailedToken(email, "Confirm your email address", "verify-email");
  assert.equal((await api("/api/v1/auth/email/verify", { body: { token } })).status, 204);
}

test("an owner invites from the console and the invitee accepts in the browser", async () => {
  await verifiedAccount("ada@example.com");
  await verifiedAccount("bob@example.com");
  const login = await api("/api/v1/auth/login", { body: { email: "ada@example.com", password: PASSWORD } });
  const ws = await api("/api/v1/workspaces", { token: login.body.token, body: { name: "Engines" } });
  assert.equal(ws.status, 201);

  const owner = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await owner.newPage();
  await signIn(page, base, "ada@example.com");
  await page.waitForURL(/\/security/);
  await page.getByRole("link", { name: "Engines" }).click();
  await page.waitForURL(new RegExp(`/workspaces/${ws.body.id}`));
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Engines");
  for (const name of ["Members", "Invitations", "Two-factor requirement", "Activity"]) {
    assert.equal(await page.getByRole("heading", { level: 2, name }).count(), 1, name);
  }
  await page.getByLabel("Email").fill("bob@example.com");
  await page.getByLabel("Role", { exact: true }).selectOption("member");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await page.getByText("Invitation sent.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Revoke" }).count(), 1);
  await assertAccessible(page, "the workspace console");
  await assertFitsPhone(page, "the workspace console");

  // The invitee opens the mailed link signed out: accepting leads through the sign-in
  // page and back.
  const invitee = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const other = await invitee.newPage();
  const token = await mailedToken("bob@example.com", "You are invited to join Engines", "invite");
  await other.goto(`${base}/invite?token=${token}`);
  await other.getByRole("heading", { name: "Join Engines" }).waitFor();
  await assertAccessible(other, "the invitation page, signed out");
  await other.getByRole("button", { name: "Accept invitation" }).click();
  await other.getByLabel("Email").fill("bob@example.com");
  await other.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await other.getByRole("button", { name: "Sign in", exact: true }).click();
  await other.waitForURL(/\/invite\?token=/);
  await assertAccessible(other, "the invitation page");
  await assertFitsPhone(other, "the invitation page");
  await other.getByRole("button", { name: "Accept invitation" }).click();
  await other.waitForURL(/\/security/);
  const status = other.locator("section", { has: other.getByRole("heading", { name: "Workspace 2FA status" }) });
  assert.match(await status.textContent(), /Engines \(member, free plan\)/);

  await page.reload();
  const members = page.getByRole("table").first();
  assert.match(await members.textContent(), /bob@example\.com/);
  await page.getByRole("link", { name: "Members without 2FA" }).click();
  await page.getByText("Showing members without 2FA.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Remove" }).count(), 2, "neither has 2FA yet");
  await page.getByRole("button", { name: "Save policy" }).click();
  await page.getByText("Policy saved.").waitFor();
  assert.match(await page.locator("section", { has: page.getByRole("heading", { name: "Activity" }) }).textContent(), /invitation accepted/);
  await page.getByRole("row", { name: /bob@example\.com/ }).getByRole("button", { name: "Remove" }).click();
  await page.getByText("Member removed.").waitFor();
  assert.doesNotMatch(await page.getByRole("table").first().textContent(), /bob@example\.com/);
  // The last owner cannot leave: the console says why.
  await page.getByRole("row", { name: /ada@example\.com/ }).getByRole("button", { name: "Remove" }).click();
  await page.getByText("a workspace must keep at least one owner").waitFor();
  await assertAccessible(page, "the console after changes");

  // A member who is not an owner or admin gets a page, not the console.
  const join = await api(`/api/v1/workspaces/${ws.body.id}/members`, { token: login.body.token, body: { email: "bob@example.com", role: "member" } });
  assert.equal(join.status, 201);
  const refused = await other.goto(`${base}/workspaces/${ws.body.id}`);
  assert.equal(refused.status(), 403);
  await other.getByRole("heading", { name: "Owners and admins only" }).waitFor();
  await assertAccessible(other, "the console's refusal");
  await owner.close();
  await invitee.close();
});
