// Opens the API reference (/docs/) in headless Chromium with every request outside the host blocked
// (as on a machine without internet), and checks that it renders the operations of /openapi/v1.json.
// Started by ApiDocsTests (tests/Chat4All.Host.Tests) with CHAT4ALL_DOCS_E2E = {url, chromium, expect: [text shown on the page...]}.
// Prints what it saw as one JSON line; exit 0 = pass.
import { chromium } from "playwright-core";

const config = JSON.parse(process.env.CHAT4ALL_DOCS_E2E);
const origin = new URL(config.url).origin;
const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
const outside = [];
const errors = [];
let exitCode = 0;
try {
  const page = await browser.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith("data:") || url.startsWith("blob:")) {
      return route.continue();
    }
    outside.push(url);
    return route.abort();
  });
  await page.goto(new URL("/docs/", config.url).toString());
  for (const text of config.expect) {
    await page.getByText(text, { exact: false }).first().waitFor({ timeout: 30000 });
  }
  console.log(JSON.stringify({ ok: true, outside, errors }));
  if (outside.length > 0) exitCode = 1;
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error), outside, errors }));
  exitCode = 1;
} finally {
  await browser.close();
}
process.exit(exitCode);
