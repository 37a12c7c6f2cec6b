// Two people, two browser pages, one conversation: drives the web console in headless Chromium.
// Started by ConsoleBrowserTests with CHAT4ALL_E2E = {url, chromium, screenshots, conversation_id,
// alice: {client_id, client_secret, user_id}, bob: {...}}. Prints one line per step; exit 0 = pass.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const config = JSON.parse(process.env.CHAT4ALL_E2E);
const TIMEOUT = 20000;
mkdirSync(config.screenshots, { recursive: true });

const log = (step, extra = {}) => console.log(JSON.stringify({ step, at: new Date().toISOString(), ...extra }));

const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
const pages = {};
let failed = false;
try {
  for (const name of ["alice", "bob"]) {
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    page.on("pageerror", (error) => log(`${name}: page error`, { error: String(error) }));
    page.on("console", (message) => message.type() === "error" && log(`${name}: console error`, { text: message.text() }));
    pages[name] = page;
  }
  const { alice, bob } = pages;
  const conversation = `[data-testid="conversation-item"][data-conversation-id="${config.conversation_id}"]`;

  async function signIn(page, user) {
    await page.goto(new URL("/console/", config.url).toString());
    await page.getByTestId("client-id").fill(user.client_id);
    await page.getByTestId("client-secret").fill(user.client_secret);
    await page.getByTestId("sign-in-button").click();
    await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
    const me = await page.getByTestId("me").textContent();
    if (me !== user.user_id) throw new Error(`signed in as ${me}, expected ${user.user_id}`);
  }

  await signIn(alice, config.alice);
  log("alice signed in and is live");
  await alice.locator(conversation).click();
  await alice.getByTestId("conversation-title").waitFor();
  log("alice opened the conversation");

  await signIn(bob, config.bob);
  log("bob signed in and is live");
  await alice.locator(`[data-testid="member"][data-user-id="${config.bob.user_id}"][data-presence="online"]`).waitFor();
  log("alice sees bob come online");

  await bob.locator(conversation).click();
  await bob.getByTestId("conversation-title").waitFor();
  log("bob opened the conversation");
  // Alice was online before Bob connected, so no presence.changed told his page: the presence query did.
  await bob.locator(`[data-testid="member"][data-user-id="${config.alice.user_id}"][data-presence="online"]`).waitFor();
  log("bob sees alice, who was online before he connected");

  const hello = `Hello Bob, from Alice's browser ${Date.now()}`;
  await alice.getByTestId("message-input").fill(hello);
  await alice.getByTestId("send-button").click();
  log("alice sent a message");

  await bob.locator('[data-testid="message"]', { hasText: hello }).waitFor();
  log("the message appeared live in bob's page");

  await alice.locator('[data-testid="message"]', { hasText: hello }).locator('[data-testid="receipt"][data-receipt="read"]').waitFor();
  log("alice sees bob's read receipt");

  const reply = "Got it, Alice!";
  await bob.getByTestId("message-input").fill(reply);
  await bob.getByTestId("message-input").press("Enter");
  await alice.locator('[data-testid="message"]', { hasText: reply }).waitFor();
  log("bob's reply appeared live in alice's page");

  // Bob's page goes offline; what alice sends meanwhile must arrive once it is back (resume from the last seq).
  await bob.evaluate(() => window.chat4all.disconnect());
  await bob.locator('[data-testid="connection-state"][data-state="closed"]').waitFor();
  const missed = ["while you were away 1", "while you were away 2", "while you were away 3"];
  for (const text of missed) {
    await alice.getByTestId("message-input").fill(text);
    await alice.getByTestId("send-button").click();
    await alice.locator('[data-testid="message"]', { hasText: text }).waitFor();
  }
  await bob.evaluate(() => window.chat4all.connect());
  await bob.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
  for (const text of missed) await bob.locator('[data-testid="message"]', { hasText: text }).waitFor();
  const seqs = await bob.locator('[data-testid="message"]').evaluateAll((items) => items.map((li) => Number(li.dataset.seq)));
  if (seqs.join(",") !== seqs.map((_, i) => i + 1).join(",")) throw new Error(`bob's page shows seqs ${seqs}`);
  log("bob's page reconnected and caught up on every message sent while it was offline, in order");

  await alice.getByTestId("file-input").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("chat4all ".repeat(20000)) });
  await alice.getByTestId("upload-button").click();
  await alice.locator('[data-testid="upload-status"][data-state="done"]').waitFor();
  await bob.getByTestId("file-link").waitFor();
  log("alice uploaded a file with a progress bar and bob sees it");
} catch (error) {
  failed = true;
  log("failed", { error: String(error?.stack ?? error) });
} finally {
  for (const [name, page] of Object.entries(pages)) {
    const path = join(config.screenshots, `console-${name}${failed ? "-failure" : ""}.png`);
    try {
      await page.screenshot({ path, fullPage: true });
      log("screenshot", { path });
    } catch (error) {
      log("screenshot failed", { name, error: String(error) });
    }
  }
  await browser.close();
}
process.exit(failed ? 1 : 0);
