// A headless Chromium that a Python test drives step by step: each stdin line
// is {"id", "js", "args"}; js is the body of an async function of (ctx, args)
// run here with playwright-core, and its JSON result comes back as one stdout
// line {"id", "ok", "value"} or {"id", "ok": false, "error"}. ctx holds the
// browser, context and page, plus what the page did: ctx.console (messages),
// ctx.errors (uncaught exceptions), ctx.requests (every URL requested).
// usage: node pw_bridge.mjs   (CHROMIUM overrides /usr/bin/chromium)
import { chromium } from 'playwright-core';
import readline from 'node:readline';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const ctx = { browser, console: [], errors: [], requests: [] };

ctx.newPage = async (opts = {}) => {
  if (ctx.context) await ctx.context.close();
  ctx.context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  ctx.page = await ctx.context.newPage();
  ctx.console.length = ctx.errors.length = ctx.requests.length = 0;
  ctx.page.on('console', (m) => ctx.console.push(m.type() + ': ' + m.text()));
  ctx.page.on('pageerror', (e) => ctx.errors.push(String(e)));
  ctx.context.on('request', (r) => ctx.requests.push(r.method() + ' ' + r.url()));
  return ctx.page;
};

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const msg = JSON.parse(line);
  let out;
  try {
    const value = await new AsyncFunction('ctx', 'args', msg.js)(ctx, msg.args || {});
    out = { id: msg.id, ok: true, value: value === undefined ? null : value };
  } catch (e) {
    out = { id: msg.id, ok: false, error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
await browser.close();
