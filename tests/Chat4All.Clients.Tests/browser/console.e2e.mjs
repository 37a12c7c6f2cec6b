// Two people, two browser pages, one conversation: drives the web console in headless Chromium.
// Started by ConsoleBrowserTests with CHAT4ALL_E2E = {url, chromium, screenshots, conversation_id,
// alice: {client_id, client_secret, user_id}, bob: {...}}. Prints one line per step; exit 0 = pass.
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
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

  // axe-core over the whole page: any critical or serious WCAG A/AA violation fails the run.
  async function assertAccessible(page, what) {
    const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    const bad = result.violations.filter((v) => v.impact === "critical" || v.impact === "serious");
    if (bad.length > 0) {
      const details = bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      throw new Error(`axe-core found ${bad.length} critical/serious violation(s) on ${what}:\n${details.join("\n")}`);
    }
    log(`axe-core: no critical or serious violations on ${what}`, { checked: result.passes.length, minor: result.violations.length });
  }

  async function assertNoSidewaysScroll(page, what) {
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
    if (scrollWidth > innerWidth) throw new Error(`${what} is ${scrollWidth} px wide in a ${innerWidth} px window: it scrolls sideways`);
    log(`${what} fits a ${innerWidth} px screen`);
  }

  async function signIn(page, user) {
    await page.goto(new URL("/console/", config.url).toString());
    if (await page.locator("#session").isVisible()) throw new Error("'signed in as / Sign out' is shown before signing in");
    await page.getByTestId("client-id").fill(user.client_id);
    await page.getByTestId("client-secret").fill(user.client_secret);
    await page.getByTestId("sign-in-button").click();
    await page.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
    const me = await page.getByTestId("me").textContent();
    if (me !== user.user_id) throw new Error(`signed in as ${me}, expected ${user.user_id}`);
  }

  await alice.goto(new URL("/console/", config.url).toString());
  await assertAccessible(alice, "the sign-in page");
  await signIn(alice, config.alice);
  if (await alice.getByTestId("sign-in").isVisible()) throw new Error("the sign-in form is still shown after signing in");
  log("alice signed in and is live");
  await alice.locator(conversation).click();
  await alice.getByTestId("conversation-title").waitFor();
  log("alice opened the conversation");

  await signIn(bob, config.bob);
  log("bob signed in and is live");
  await alice.locator(`[data-testid="member"][data-user-id="${config.bob.user_id}"][data-presence="online"]`).waitFor();
  log("alice sees bob come online");

  // Bob uses the keyboard: Tab moves through the page until his conversation has focus, Enter opens it.
  for (let i = 0; i < 20 && !(await bob.locator(conversation).evaluate((el) => el === document.activeElement)); i++) await bob.keyboard.press("Tab");
  if (!(await bob.locator(conversation).evaluate((el) => el === document.activeElement))) throw new Error("Tab never reaches the conversation");
  await bob.keyboard.press("Enter");
  await bob.getByTestId("conversation-title").waitFor();
  log("bob opened the conversation with the keyboard (Tab, Enter)");
  const presenceText = await bob.locator(`[data-testid="member"][data-user-id="${config.alice.user_id}"]`).textContent();
  // Alice was online before Bob connected, so no presence.changed told his page: the presence query did.
  await bob.locator(`[data-testid="member"][data-user-id="${config.alice.user_id}"][data-presence="online"]`).waitFor();
  log("bob sees alice, who was online before he connected");
  if (!(await bob.locator(`[data-testid="member"][data-user-id="${config.alice.user_id}"]`).textContent()).includes("online")) {
    throw new Error(`presence is not written out: the member reads "${presenceText}"`);
  }
  log("presence is shown as text, not only as a colour");
  await assertAccessible(bob, "an open conversation");

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

  // A slow network (chunks held back for a while) leaves time to cancel, however fast this machine is.
  const slowChunks = "**/v1/files/*/chunks*";
  await alice.route(slowChunks, (route) => setTimeout(() => route.continue().catch(() => {}), 3000));
  await alice.getByTestId("file-input").setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(12 * 1024 * 1024, 7) });
  await alice.getByTestId("upload-button").click();
  await alice.getByTestId("upload-cancel").click();
  await alice.locator('[data-testid="upload-status"][data-state="cancelled"]').waitFor();
  if (await alice.getByTestId("upload-cancel").isVisible()) throw new Error("the cancel button stays after the upload stopped");
  await alice.unroute(slowChunks);
  log("alice cancelled an upload");

  // A reload keeps the sign-in (sessionStorage, this tab only) …
  await bob.reload();
  await bob.locator('[data-testid="connection-state"][data-state="open"]').waitFor();
  if ((await bob.getByTestId("me").textContent()) !== config.bob.user_id) throw new Error("after a reload bob is not signed in as himself");
  await bob.locator(conversation).waitFor();
  log("a reload keeps bob signed in");
  // … until Sign out, after which a reload shows the sign-in form and nothing of the session.
  await bob.locator("#sign-out").click();
  await bob.getByTestId("sign-in").waitFor();
  await bob.reload();
  await bob.getByTestId("sign-in").waitFor();
  if (await bob.locator("#session").isVisible()) throw new Error("'signed in as / Sign out' is shown after signing out");
  log("after sign-out a reload shows the sign-in form");

  // A phone: 390 px wide, one column, nothing scrolls sideways.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const phonePage = await phone.newPage();
  phonePage.setDefaultTimeout(TIMEOUT);
  pages["phone"] = phonePage;
  await phonePage.goto(new URL("/console/", config.url).toString());
  await assertNoSidewaysScroll(phonePage, "the sign-in page");
  await phonePage.screenshot({ path: join(config.screenshots, "console-phone-sign-in.png"), fullPage: true });
  await signIn(phonePage, config.alice);
  await phonePage.locator(conversation).click();
  await phonePage.locator('[data-testid="message"]', { hasText: reply }).waitFor();
  await assertNoSidewaysScroll(phonePage, "an open conversation");
  await assertAccessible(phonePage, "an open conversation on a phone");
  await phonePage.screenshot({ path: join(config.screenshots, "console-phone-conversation.png"), fullPage: true });
  log("phone-width screenshots taken");
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
