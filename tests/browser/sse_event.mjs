// A real browser EventSource against the gateway: open the page's origin,
// subscribe with ?access_token= (EventSource cannot send headers), print
// "ready" once open, then the first `changed` event as JSON.
// usage: node sse_event.mjs BASE_URL TOKEN MAILBOX
import { chromium } from 'playwright-core';

const [base, token, mailbox] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let out = { error: null };
try {
  const page = await browser.newPage();
  await page.goto(base + '/', { timeout: 15000 });
  await page.exposeFunction('reportReady', () => console.log('ready'));
  out = await page.evaluate(([tok, box]) => new Promise((resolve) => {
    const url = '/api/v1/events?mailbox=' + encodeURIComponent(box) +
                '&access_token=' + encodeURIComponent(tok);
    const es = new EventSource(url);
    const timer = setTimeout(() => { es.close(); resolve({ error: 'no event in 15 s' }); }, 15000);
    es.onopen = () => window.reportReady();
    es.addEventListener('changed', (ev) => {
      clearTimeout(timer);
      es.close();
      resolve({ error: null, id: ev.lastEventId, data: JSON.parse(ev.data) });
    });
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) {
      clearTimeout(timer); resolve({ error: 'EventSource closed' }); } };
  }), [token, mailbox]);
} catch (e) {
  out = { error: String(e && e.message || e) };
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
