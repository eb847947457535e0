"""The webmail sends: alice composes with an attachment and sends it to
bob through the gateway (JMAP Email/import + EmailSubmission/set) and a real
SMTP submission server that delivers into Dovecot; then bob logs in to the
webmail and reads it, attachment included. Needs the sending feature (issue
14) and its test fixture, tests/support/smtp_fixture.py."""
import os
import time
import unittest
import uuid

from browser import WEB_ROOT, requires_browser
from jmapclient import CORE, MAIL, SUBMISSION, JmapClient
from pwbridge import Browser

from smtp_fixture import DOMAIN, SendStackTestCase

BIN = os.environ.get('JMAPGATE_BIN') or ''
SHOTS = os.path.join(os.path.dirname(os.path.abspath(BIN or '.')), 'test-output', 'screenshots')


@requires_browser
class WebmailSendTest(SendStackTestCase):
    USERS = {'alice': 'alice-pw', 'bob': 'bob-pw', 'carol': 'carol-pw'}
    GATEWAY_ENV = {'JMAPGATE_WEB_ROOT': WEB_ROOT}
    DOVECOT_KW = {'metadata': True}   # Identity/set keeps the signature in METADATA

    def login(self, b, user, password):
        b.run("""
            await ctx.newPage();
            await ctx.page.goto(args.url);
            await ctx.page.fill('input[name=username]', args.user);
            await ctx.page.fill('input[name=password]', args.password);
            await ctx.page.click('#login button[type=submit]');
            await ctx.page.waitForSelector('#conn[data-state=live]', { timeout: 20000 });
            await ctx.page.waitForSelector('#folder-tree a.folder');
        """, url=self.gw.base_url + '/', user=user, password=password)

    def test_signature_of_the_identity_goes_out(self):
        """The identity's textSignature (Identity/set, kept in METADATA) is
        put under the text of a new message, after the "-- " line, and is
        in what the recipient gets."""
        sig = 'Alice Example\nPhone 555 %s' % uuid.uuid4().hex[:6]
        subject = 'Signed %s' % uuid.uuid4().hex[:8]
        carol = JmapClient(self.gw, 'carol', 'carol-pw', using=(CORE, MAIL, SUBMISSION))
        ident = carol.api(['Identity/get', {}])[0]['list'][0]
        r = carol.api(['Identity/set', {'update': {ident['id']: {'textSignature': sig}}}])[0]
        self.assertIn(ident['id'], r['updated'], r)
        with Browser() as b:
            self.login(b, 'carol', 'carol-pw')
            text = b.run("""
                const p = ctx.page;
                await p.click('#compose-btn');
                await p.waitForSelector('#compose:not([hidden])');
                await p.waitForFunction(() => document.getElementById('c-identity').options.length > 0);
                const before = await p.inputValue('#c-text');
                await p.fill('#c-to', args.to);
                await p.fill('#c-subject', args.subject);
                await p.focus('#c-text');
                await p.keyboard.press('Control+Home');
                await p.keyboard.type('Hi Bob.');
                await p.click('#c-send');
                await p.waitForSelector('#compose', { state: 'hidden', timeout: 20000 });
                return before;
            """, to='bob@' + DOMAIN, subject=subject)
        self.assertEqual(text, '\n\n-- \n' + sig)
        imap = self.dovecot.imap('bob', 'bob-pw')
        try:
            imap.select('INBOX')
            deadline, found = time.monotonic() + 10, []
            while time.monotonic() < deadline and not found:
                found = imap.uid('SEARCH', None, 'SUBJECT', '"%s"' % subject)[1][0].split()
                time.sleep(0.2)
            self.assertEqual(len(found), 1)
            raw = imap.uid('FETCH', found[0], '(BODY.PEEK[TEXT])')[1][0][1].decode()
        finally:
            imap.logout()
        self.assertIn('Hi Bob.\r\n\r\n-- \r\n' + sig.replace('\n', '\r\n'), raw)

    def test_compose_attach_send_and_read_as_recipient(self):
        os.makedirs(SHOTS, exist_ok=True)
        subject = 'Sent from the webmail %s' % uuid.uuid4().hex[:8]
        payload = 'col1,col2\n\u00e9t\u00e9,2\r\n\u0000'
        with Browser() as b:
            self.login(b, 'alice', 'alice-pw')
            b.run("""
                const p = ctx.page;
                await p.click('#compose-btn');
                await p.waitForSelector('#compose:not([hidden])');
                await p.waitForFunction(() => document.getElementById('c-identity').options.length > 0);
                await p.fill('#c-to', args.to);
                await p.fill('#c-subject', args.subject);
                await p.fill('#c-text', 'Hello Bob,\\nthe numbers are attached.');
                await p.setInputFiles('#c-files', { name: 'numbers.ods', mimeType: 'application/vnd.oasis.opendocument.spreadsheet',
                                                   buffer: Buffer.from(args.payload, 'utf8') });
                await p.waitForSelector('#c-attachments li');
                await p.click('#c-send');
                await p.waitForSelector('#compose', { state: 'hidden', timeout: 20000 });
            """, to='bob@' + DOMAIN, subject=subject, payload=payload)
            # alice's copy is in Sent, not in Drafts.
            imap = self.dovecot.imap('alice', 'alice-pw')
            try:
                imap.select('Sent')
                self.assertTrue(imap.uid('SEARCH', None, 'SUBJECT', '"%s"' % subject)[1][0].split())
                imap.select('Drafts')
                self.assertFalse(imap.uid('SEARCH', None, 'SUBJECT', '"%s"' % subject)[1][0].split())
            finally:
                imap.logout()
            self.login(b, 'bob', 'bob-pw')
            out = b.run("""
                const p = ctx.page;
                await p.locator('#list .row', { hasText: args.subject }).first().click({ timeout: 20000 });
                await p.waitForSelector('#reader .attachments a');
                const a = await p.$('#reader .attachments a');
                const href = await a.getAttribute('href');
                const body = await p.evaluate(async (h) => new TextDecoder().decode(await (await fetch(h)).arrayBuffer()), href);
                await p.screenshot({ path: args.shot });
                return { text: await p.textContent('#reader'), name: await a.textContent(), body };
            """, subject=subject, shot=os.path.join(SHOTS, 'received.png'))
        self.assertIn('the numbers are attached', out['text'])
        self.assertIn('alice@' + DOMAIN, out['text'])
        self.assertIn('numbers.ods', out['name'])
        self.assertEqual(out['body'], payload)
        # bob replies with r: addressed to alice, "Re:", quoted, threaded.
        with Browser() as b:
            self.login(b, 'bob', 'bob-pw')
            reply = b.run("""
                const p = ctx.page;
                await p.locator('#list .row', { hasText: args.subject }).first().click({ timeout: 20000 });
                await p.waitForSelector('#reader article');
                await p.focus('#list');
                await p.keyboard.press('r');
                await p.waitForSelector('#compose:not([hidden])');
                const to = await p.inputValue('#c-to'), subj = await p.inputValue('#c-subject');
                const text = await p.inputValue('#c-text');
                await p.keyboard.type('Thanks! ');
                await p.click('#c-send');
                await p.waitForSelector('#compose', { state: 'hidden', timeout: 20000 });
                return { to, subj, text };
            """, subject=subject)
        self.assertEqual(reply['to'], 'alice@' + DOMAIN)
        self.assertEqual(reply['subj'], 'Re: ' + subject)
        self.assertIn('> Hello Bob,', reply['text'])
        imap = self.dovecot.imap('alice', 'alice-pw')
        try:
            imap.select('Sent')
            uid = imap.uid('SEARCH', None, 'SUBJECT', '"%s"' % subject)[1][0].split()[0]
            orig_id = imap.uid('FETCH', uid, '(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])')[1][0][1]
            orig_id = orig_id.decode().split(':', 1)[1].strip()
            imap.select('INBOX')
            deadline = time.monotonic() + 10
            found = []
            while time.monotonic() < deadline and not found:
                found = imap.uid('SEARCH', None, 'SUBJECT', '"Re: %s"' % subject)[1][0].split()
                time.sleep(0.2)
            self.assertEqual(len(found), 1)
            head = imap.uid('FETCH', found[0], '(BODY.PEEK[HEADER.FIELDS (IN-REPLY-TO)])')[1][0][1]
            self.assertIn(orig_id, head.decode())
        finally:
            imap.logout()


if __name__ == '__main__':
    unittest.main()
