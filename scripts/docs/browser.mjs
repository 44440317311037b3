// Headless Chromium (Debian's) against a running keel-api: Swagger UI and ReDoc render the
// operations, under their CSP, with zero console errors, zero CSP violations and zero requests
// to any other origin; "Authorize" + "Try it out" on GET /api/v1/users/me answers 200 with the
// signed-in user. Prints page weights (bytes over the wire, compressed) and render times.
//   node scripts/docs/browser.mjs BASE_URL ARTIFACT_DIR
import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";

const [base, artifacts] = process.argv.slice(2);
if (!base || !artifacts) {
  console.error("usage: browser.mjs BASE_URL ARTIFACT_DIR");
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const origin = new URL(base).origin;
const failures = [];
const fail = (what) => {
  failures.push(what);
  console.error(`FAIL: ${what}`);
};

// A fresh user, signed in through the api itself.
const email = `browser-${Date.now()}@example.com`;
const password = "correct horse battery staple 42";
const post = (path, body) =>
  fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
let res = await post("/api/v1/auth/register", { email, password, name: "Ada Lovelace" });
if (res.status !== 202) throw new Error(`register: ${res.status} ${await res.text()}`);
res = await post("/api/v1/auth/login", { email, password });
if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
const { access_token: token } = await res.json();

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const report = {};

/// Opens `path` in a fresh page that records errors, CSP violations, foreign requests and bytes.
async function open(name, path, visible) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const log = { errors: [], foreign: [], bytes: 0, requests: 0 };
  page.on("console", (m) => m.type() === "error" && log.errors.push(m.text()));
  page.on("pageerror", (e) => log.errors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => {
    const url = r.url();
    if (!url.startsWith("data:") && new URL(url).origin !== origin) log.foreign.push(url);
  });
  page.on("requestfinished", async (r) => {
    const sizes = await r.sizes().catch(() => null);
    log.requests += 1;
    if (sizes) log.bytes += sizes.responseBodySize + sizes.responseHeadersSize;
  });
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const started = Date.now();
  await page.goto(base + path, { waitUntil: "load" });
  await page.locator(visible).first().waitFor({ state: "visible", timeout: 30000 });
  const rendered = Date.now() - started;
  const fcp = await page.evaluate(
    () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
  );
  await page.waitForLoadState("networkidle");
  report[name] = { rendered_ms: rendered, first_contentful_paint_ms: fcp && Math.round(fcp), log };
  return { page, context, log };
}

function check(name, log, csp) {
  for (const e of log.errors) fail(`${name}: console error: ${e}`);
  for (const v of csp) fail(`${name}: CSP violation: ${v}`);
  for (const u of log.foreign) fail(`${name}: request to another origin: ${u}`);
}

// Swagger UI: operations listed, then Authorize + Try it out on GET /api/v1/users/me.
{
  const { page, context, log } = await open("swagger", "/api/docs/", '.opblock-summary-description:has-text("Sign in")');
  await page.locator("button.authorize").first().click();
  await page.locator(".modal-ux input").first().fill(token);
  await page.locator(".modal-ux button.authorize").first().click();
  await page.locator(".modal-ux button.btn-done").first().click();
  const op = page.locator("#operations-users-get_users_me");
  await op.locator(".opblock-summary").first().click();
  await op.locator("button.try-out__btn").click();
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 15000 });
  const code = (await status.innerText()).trim();
  const body = await op.locator(".live-responses-table").first().innerText();
  if (code !== "200") fail(`swagger: try it out on get_users_me answered ${code}`);
  if (!body.includes(email)) fail("swagger: the response does not show the signed-in user");
  if (!page.url().includes("#/users/get_users_me")) fail(`swagger: no deep link (${page.url()})`);
  await page.screenshot({ path: `${artifacts}/swagger-ui.png`, fullPage: false });
  check("swagger", log, await page.evaluate(() => window.__csp));
  const stored = await page.evaluate(() => JSON.stringify(localStorage));
  if (stored.includes(token)) fail("swagger: the token was persisted");
  await context.close();
}

// ReDoc: the same document, rendered.
{
  const { page, context, log } = await open("redoc", "/api/redoc/", 'h2:has-text("Sign in")');
  await page.screenshot({ path: `${artifacts}/redoc.png`, fullPage: false });
  check("redoc", log, await page.evaluate(() => window.__csp));
  await context.close();
}

await browser.close();
const summary = Object.fromEntries(
  Object.entries(report).map(([k, v]) => [
    k,
    {
      bytes_over_the_wire: v.log.bytes,
      requests: v.log.requests,
      first_contentful_paint_ms: v.first_contentful_paint_ms,
      operations_visible_ms: v.rendered_ms,
    },
  ]),
);
writeFileSync(`${artifacts}/docs-pages.json`, JSON.stringify(summary, null, 2) + "\n");
console.log(JSON.stringify(summary, null, 2));
if (failures.length) {
  console.error(`${failures.length} browser check(s) failed`);
  process.exit(1);
}
console.log("browser checks: 0 console errors, 0 CSP violations, 0 foreign requests");
