// A real browser EventSource on the gateway's push endpoints: log in through
// the demo page (HttpOnly cookie), open EventSources on /api/v1/events and
// /jmap/eventsource (same origin, the cookie authenticates), print "READY",
// then wait for one event on each. Prints one JSON line:
// {"rest": {...}, "jmap": {...}, "error": null}.
// usage: node push_eventsource.mjs BASE_URL USER PASSWORD
import { chromium } from 'playwright-core';

const [base, user, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { rest: null, jmap: null, error: null };
try {
  const page = await browser.newPage();
  await page.goto(base + '/', { timeout: 15000 });
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#folder-tree a.folder', { timeout: 15000 });
  await page.evaluate(() => new Promise((resolve, reject) => {
    window.got = {};
    let open = 0;
    const opened = () => { if (++open === 2) resolve(); };
    const rest = new EventSource('/api/v1/events?mailbox=INBOX');
    rest.onopen = opened;
    rest.addEventListener('changed', (e) => {
      window.got.rest = { data: JSON.parse(e.data), id: e.lastEventId, t: Date.now() };
    });
    const jmap = new EventSource('/jmap/eventsource?types=*&closeafter=no&ping=0');
    jmap.onopen = opened;
    jmap.addEventListener('state', (e) => {
      window.got.jmap = { data: JSON.parse(e.data), id: e.lastEventId, t: Date.now() };
    });
    setTimeout(() => reject(new Error('EventSource did not open')), 10000);
  }));
  console.log('READY');
  await page.waitForFunction(() => window.got.rest && window.got.jmap, null, { timeout: 15000 });
  const got = await page.evaluate(() => window.got);
  out.rest = got.rest;
  out.jmap = got.jmap;
} catch (e) {
  out.error = String(e && e.message || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
