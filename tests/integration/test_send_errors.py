"""SMTP failures a real server will not produce on demand (issue 14),
against a scripted fake SMTP server (tests/support/smtp_fixture.FakeSmtp)
with STARTTLS: each maps to its RFC 8621 SetError (JMAP) and problem JSON
(REST), and nothing is left half-done (the draft stays a draft in Drafts)."""
import os
import time
import unittest
import uuid

import fixture
from fixture import Dovecot, Gateway
from smtp_fixture import DOMAIN, FakeSmtp, make_cert

USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail',
         'urn:ietf:params:jmap:submission']


class TestSmtpFailures(unittest.TestCase):
    USERS = {'alice': 'alicepass'}

    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users=cls.USERS).start()
        cls.fake = FakeSmtp()
        cls.gw = Gateway(cls.dovecot.url, env={
            'JMAPGATE_SMTP_URL': cls.fake.url(), 'JMAPGATE_SMTP_TLS_CA_FILE': cls.fake.cert_file,
            'JMAPGATE_MAIL_DOMAIN': DOMAIN, 'JMAPGATE_SMTP_TIMEOUT': '2'}).start()
        cls.token = cls.gw.login('alice', 'alicepass')

    @classmethod
    def tearDownClass(cls):
        for o in (cls.gw, cls.fake, cls.dovecot):
            try:
                o.close()
            except Exception:
                pass

    def setUp(self):
        self.fake.script.clear()
        self.fake.starttls = True
        self.fake.size = 0
        del self.fake.commands[:]

    def auth(self):
        return {'Authorization': 'Bearer ' + self.token}

    def jmap(self, *calls, gw=None, token=None):
        gw = gw or self.gw
        body = {'using': USING, 'methodCalls': [[c[0], c[1], 'c%d' % i] for i, c in enumerate(calls)]}
        st, _, out = gw.json('POST', '/jmap/api', body,
                             headers={'Authorization': 'Bearer ' + (token or self.token)})
        self.assertEqual(st, 200, out)
        return out['methodResponses']

    def account(self):
        st, _, sess = self.gw.json('GET', '/jmap/session', headers=self.auth())
        return sess['primaryAccounts']['urn:ietf:params:jmap:mail']

    def draft(self, to='bob@%s, carol@%s, dan@%s' % (DOMAIN, DOMAIN, DOMAIN)):
        mid = '<%s@%s>' % (uuid.uuid4().hex, DOMAIN)
        self.dovecot.append('alice', 'alicepass', 'Drafts',
                            ('From: alice@%s\r\nTo: %s\r\nSubject: t\r\nMessage-ID: %s\r\n\r\nbody\r\n'
                             % (DOMAIN, to, mid)).encode(), flags='\\Draft')
        r = self.jmap(['Email/query', {'accountId': self.account(),
                                       'filter': {'header': ['Message-ID', mid]}}])
        return r[0][1]['ids'][0], mid

    def submit(self, gw=None, token=None):
        eid, mid = self.draft()
        acct = self.account()
        boxes = {m['role']: m['id'] for m in
                 self.jmap(['Mailbox/get', {'accountId': acct}])[0][1]['list']}
        r = self.jmap(['EmailSubmission/set', {
            'accountId': acct, 'create': {'s': {'identityId': 'i0', 'emailId': eid}},
            'onSuccessUpdateEmail': {'#s': {'keywords/$draft': None,
                                            'mailboxIds/' + boxes['drafts']: None,
                                            'mailboxIds/' + boxes['sent']: True}}}],
            gw=gw, token=token)
        self.assertEqual(len(r), 1, 'no implicit Email/set after a failed send: %r' % r)
        self.assertEqual(r[0][1]['created'], {})
        # nothing half-done: the draft is still a draft in Drafts
        e = self.jmap(['Email/get', {'accountId': acct, 'ids': [eid],
                                     'properties': ['keywords', 'mailboxIds']}])[0][1]['list']
        self.assertEqual(len(e), 1)
        self.assertTrue(e[0]['keywords'].get('$draft'))
        return r[0][1]['notCreated']['s']

    def rest(self, body=None):
        return self.gw.json('POST', '/api/v1/messages/send',
                            body or {'to': ['bob@' + DOMAIN], 'text': 'x'}, headers=self.auth())

    def verbs(self):
        return [c.split(' ')[0].split(':')[0].upper() for c in self.fake.commands]

    # -- the SetErrors -----------------------------------------------------
    def test_success_through_fake(self):
        eid, mid = self.draft()
        r = self.jmap(['EmailSubmission/set', {'accountId': self.account(),
                                               'create': {'s': {'identityId': 'i0', 'emailId': eid}}}])
        self.assertIn('s', r[0][1]['created'], r)
        self.assertIn(mid.encode(), self.fake.messages[-1])
        self.assertEqual(self.verbs()[:3], ['EHLO', 'STARTTLS', 'EHLO'])
        self.assertIn('AUTH', self.verbs())

    def test_552_on_data_is_too_large(self):
        self.fake.script['DATA_END'] = '552 5.3.4 message too big'
        e = self.submit()
        self.assertEqual(e['type'], 'tooLarge', e)
        st, _, out = self.rest()
        self.assertEqual((st, out['error']), (413, 'tooLarge'))

    def test_size_announced_is_checked_before_sending(self):
        self.fake.size = 50
        e = self.submit()
        self.assertEqual(e['type'], 'tooLarge', e)
        self.assertEqual(e['maxSize'], 50)
        self.assertNotIn('MAIL', self.verbs())

    def test_one_recipient_of_three_refused(self):
        self.fake.script['RCPT:carol@' + DOMAIN] = '550 5.1.1 no such user'
        e = self.submit()
        self.assertEqual(e['type'], 'invalidRecipients', e)
        self.assertEqual(e['invalidRecipients'], ['carol@' + DOMAIN])
        self.assertNotIn('DATA', self.verbs())       # all or nobody
        self.assertIn('RSET', self.verbs())

    def test_too_many_recipients(self):
        self.fake.script['RCPT'] = '452 4.5.3 too many recipients'
        self.assertEqual(self.submit()['type'], 'tooManyRecipients')

    def test_mail_from_refused(self):
        self.fake.script['MAIL'] = '550 5.7.1 sender not allowed'
        self.assertEqual(self.submit()['type'], 'forbiddenMailFrom')
        st, _, out = self.rest()
        self.assertEqual((st, out['error']), (403, 'forbiddenMailFrom'))

    def test_from_refused_on_data(self):
        self.fake.script['DATA_END'] = '550 5.7.1 From header does not match your login'
        self.assertEqual(self.submit()['type'], 'forbiddenFrom')

    def test_wrong_password_535(self):
        self.fake.script['AUTH'] = '535 5.7.8 authentication failed'
        e = self.submit()
        self.assertEqual(e['type'], 'forbidden')
        self.assertIn('refused the login', e['description'])
        self.assertNotIn('MAIL', self.verbs())
        st, _, out = self.rest()
        self.assertEqual(st, 502, out)
        self.assertIn('refused the login', out['detail'])
        self.assertNotIn('alicepass', self.gw.log_text())

    def test_hang_after_mail_from_times_out(self):
        self.fake.script['MAIL'] = 'hang'
        t0 = time.monotonic()
        e = self.submit()
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(e['type'], 'serverUnavailable', e)
        self.assertIn('in time', e['description'])
        st, _, out = self.rest()
        self.assertEqual(st, 504, out)

    def test_no_starttls_offered(self):
        self.fake.starttls = False
        e = self.submit()
        self.assertEqual(e['type'], 'serverUnavailable')
        self.assertIn('STARTTLS', e['description'])
        self.assertNotIn('AUTH', self.verbs())       # no password over plain text

    def test_untrusted_certificate_refused(self):
        other_dir = fixture._make_tmpdir('othca')
        try:
            other_ca, _ = make_cert(other_dir, 'other')
            gw = Gateway(self.dovecot.url, env={
                'JMAPGATE_SMTP_URL': self.fake.url(), 'JMAPGATE_SMTP_TLS_CA_FILE': other_ca,
                'JMAPGATE_MAIL_DOMAIN': DOMAIN, 'JMAPGATE_SMTP_TIMEOUT': '2'}).start()
            try:
                tok = gw.login('alice', 'alicepass')
                e = self.submit(gw=gw, token=tok)
                self.assertEqual(e['type'], 'serverUnavailable')
                self.assertIn('certificate', e['description'].lower())
                self.assertNotIn('AUTH', self.verbs())
            finally:
                gw.close()
        finally:
            fixture._remove_tmpdir(other_dir)

    def test_identity_update_without_metadata(self):
        r = self.jmap(['Identity/set', {'accountId': self.account(), 'update': {'i0': {'name': 'A'}}}],
                      ['Identity/get', {'accountId': self.account()}])
        self.assertEqual(r[0][1]['notUpdated']['i0']['type'], 'forbidden')
        self.assertIn('METADATA', r[0][1]['notUpdated']['i0']['description'])
        self.assertEqual(r[1][1]['list'][0]['name'], '')
        self.assertEqual(r[1][1]['state'], '1')

    def test_without_smtp_url(self):
        gw = Gateway(self.dovecot.url, env={'JMAPGATE_MAIL_DOMAIN': DOMAIN}).start()
        try:
            tok = gw.login('alice', 'alicepass')
            st, _, sess = gw.json('GET', '/jmap/session', headers={'Authorization': 'Bearer ' + tok})
            self.assertNotIn('urn:ietf:params:jmap:submission', sess['capabilities'])
            st, _, out = gw.json('POST', '/jmap/api', {'using': USING, 'methodCalls': []},
                                 headers={'Authorization': 'Bearer ' + tok})
            self.assertEqual(st, 400)
            self.assertEqual(out['type'], 'urn:ietf:params:jmap:error:unknownCapability')
            st, _, out = gw.json('POST', '/api/v1/messages/send', {'to': ['b@x.test'], 'text': 'x'},
                                 headers={'Authorization': 'Bearer ' + tok})
            self.assertEqual(st, 501, out)
        finally:
            gw.close()


if __name__ == '__main__':
    unittest.main()
