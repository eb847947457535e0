"""The webmail when the login token expires on its own: the page starts
with a login cookie that lives a few seconds (a real login token re-signed
with a short exp; JMAPGATE_TOKEN_TTL cannot go below 60 s); the push stream ends, the page notices without any user
action, asks for the password in an overlay over the unchanged page, and a
draft being written is saved with everything typed once logged in again."""
import email
import time
import unittest
import uuid

from browser import WEB_ROOT, requires_browser
from fixture import StackTestCase
from pwbridge import Browser
import jwtutil

TTL = 15


@requires_browser
class WebmailExpiryTest(StackTestCase):
    USERS = {'alice': 'alice-pw'}
    GATEWAY_ENV = {'JMAPGATE_WEB_ROOT': WEB_ROOT}

    def test_expired_login_keeps_the_draft(self):
        self.dovecot.seed_corpus('alice', {'INBOX': 5})
        subject = 'Long letter %s' % uuid.uuid4().hex[:8]
        header, claims, _ = jwtutil.split(self.gw.login('alice', 'alice-pw'))
        with Browser() as b:
            b.run("await ctx.newPage()")
            t0 = time.monotonic()
            # The gateway accepts a token until 60 s after its exp (clock skew,
            # gateway/gw_token.c SKEW_SECS): this one is refused TTL s from now.
            claims['exp'] = int(time.time()) + TTL - 60
            short = jwtutil.sign(header, claims, jwtutil.jwt_key(self.gw.secret))
            b.run("""
                const p = ctx.page;
                await ctx.context.addCookies([{ name: 'jmapgate_token', value: args.token, url: args.url,
                                                httpOnly: true, sameSite: 'Strict' }]);
                await p.goto(args.url);
                await p.waitForSelector('#list .row:not(.placeholder)', { timeout: 15000 });
                await p.click('#compose-btn');
                await p.fill('#c-subject', args.subject);
                await p.fill('#c-text', 'Dear Bob, a long letter.');
            """, url=self.gw.base_url + '/', subject=subject, token=short)
            # Nobody touches the page: the overlay comes when the token dies.
            out = b.run("""
                const p = ctx.page;
                try {
                    await p.waitForSelector('#reauth:not([hidden])', { timeout: args.wait });
                } catch (e) {
                    throw new Error('no login overlay; conn ' + await p.getAttribute('#conn', 'data-state') +
                                    '; requests ' + ctx.requests.slice(-8).join(', ') + '; console ' + ctx.console.join('; '));
                }
                return { text: await p.inputValue('#c-text'), composeOpen: await p.isVisible('#compose'),
                         focused: await p.evaluate(() => document.activeElement.name) };
            """, wait=(TTL + 15) * 1000, timeout=TTL + 30)
            waited = time.monotonic() - t0
            self.assertGreaterEqual(waited, TTL - 1)
            self.assertEqual(out, {'text': 'Dear Bob, a long letter.', 'composeOpen': True,
                                   'focused': 'password'})
            b.run("""
                const p = ctx.page;
                await p.fill('#reauth input[name=password]', 'alice-pw');
                await p.click('#reauth button[type=submit]');
                await p.waitForSelector('#reauth', { state: 'hidden' });
                await p.waitForSelector('#conn[data-state=live]', { timeout: 15000 });
                const before = await p.textContent('#draft-status');
                await p.type('#c-text', ' The end.');
                await p.waitForFunction((b) => { const t = document.getElementById('draft-status').textContent;
                                                 return t !== b && /Draft saved/.test(t); }, before, { timeout: 15000 });
            """)
        imap = self.dovecot.imap('alice', 'alice-pw')
        try:
            imap.select('Drafts')
            found = imap.uid('SEARCH', None, 'SUBJECT', '"%s"' % subject)[1][0].split()
            self.assertEqual(len(found), 1)
            raw = imap.uid('FETCH', found[0], '(BODY.PEEK[])')[1][0][1]
        finally:
            imap.logout()
        body = email.message_from_bytes(raw).get_payload(decode=True)
        self.assertIn(b'Dear Bob, a long letter. The end.', body)


if __name__ == '__main__':
    unittest.main()
