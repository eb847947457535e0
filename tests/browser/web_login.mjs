// Drive the demo web client in headless Chromium: log in, read the folder
// table. Prints one JSON line: {"rows": [[path, role, unread, total], ...],
// "cookieHttpOnly": bool, "error": "..."}; the Python test asserts on it.
// usage: node web_login.mjs BASE_URL USER PASSWORD SCREENSHOT.png
import { chromium } from 'playwright-core';

const [base, user, password, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { rows: [], cookieHttpOnly: null, error: null };
try {
  const page = await browser.newPage();
  await page.goto(base + '/', { timeout: 15000 });
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#folder-rows tr', { timeout: 15000 });
  out.rows = await page.$$eval('#folder-rows tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  const cookies = await page.context().cookies();
  const c = cookies.find((k) => k.name === 'jmapgate_token');
  out.cookieHttpOnly = c ? c.httpOnly : null;
  out.scriptSeesCookie = await page.evaluate(() => document.cookie.includes('jmapgate_token'));
  if (shot) await page.screenshot({ path: shot, fullPage: true });
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
