"""Sending mail (issue 14) against real components: Dovecot (with LMTP), a
real SMTP submission server (aiosmtpd: STARTTLS + AUTH, delivering through
Dovecot's LMTP) and the gateway. JMAP Identity + EmailSubmission, REST
send, the recipient's push stream, the rate limit."""
import email
import email.policy
import json
import re
import time
import unittest
import uuid

from fixture import wait_for
from smtp_fixture import DOMAIN, SendStackTestCase

USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail',
         'urn:ietf:params:jmap:submission']




class SendCase(SendStackTestCase):
    USERS = {'alice': 'alicepass', 'bob': 'bobpass', 'carol': 'carolpass', 'dan': 'danpass'}
    GATEWAY_ENV = {'JMAPGATE_SEND_RATE_LIMIT': '1000'}
    DOVECOT_KW = {'metadata': True}     # identity settings live in IMAP METADATA
    _tokens = {}

    def token(self, user):
        key = (self.gw.log_file, user)   # each gateway has its own secret
        if key not in self._tokens:
            self._tokens[key] = self.gw.login(user, self.USERS[user])
        return self._tokens[key]

    def auth(self, user):
        return {'Authorization': 'Bearer ' + self.token(user)}

    def jmap(self, user, *calls, using=USING):
        body = {'using': using, 'methodCalls': [[c[0], c[1], 'c%d' % i] for i, c in enumerate(calls)]}
        st, _, out = self.gw.json('POST', '/jmap/api', body, headers=self.auth(user))
        self.assertEqual(st, 200, out)
        return out['methodResponses']

    def account(self, user):
        st, _, sess = self.gw.json('GET', '/jmap/session', headers=self.auth(user))
        self.assertEqual(st, 200)
        return sess['primaryAccounts']['urn:ietf:params:jmap:mail']

    def mailbox_ids(self, user):
        r = self.jmap(user, ['Mailbox/get', {'accountId': self.account(user)}])
        return {m['role'] or m['name']: m['id'] for m in r[0][1]['list']}

    def fetch_all(self, user, box):
        """[(flags, bytes)] of every message in box, via plain IMAP."""
        m = self.dovecot.imap(user, self.USERS[user])
        try:
            typ, _ = m.select(box, readonly=True)
            self.assertEqual(typ, 'OK')
            typ, data = m.uid('SEARCH', 'ALL')
            out = []
            for uid in data[0].split():
                typ, d = m.uid('FETCH', uid, '(FLAGS BODY.PEEK[])')
                flags = re.search(rb'FLAGS \(([^)]*)\)', d[0][0]).group(1).decode()
                out.append((flags, d[0][1]))
            return out
        finally:
            m.logout()

    def find(self, user, box, needle, timeout=10.0):
        return wait_for(lambda: [raw for _, raw in self.fetch_all(user, box) if needle in raw],
                        timeout)

    def draft(self, user, to, subject, extra_headers='', body='Hello there.\r\n'):
        mid = '<%s@%s>' % (uuid.uuid4().hex, DOMAIN)
        raw = ('From: Alice Example <%s@%s>\r\nTo: %s\r\nSubject: %s\r\n'
               'Message-ID: %s\r\nDate: Mon, 1 Dec 2026 10:00:00 +0000\r\n%s'
               'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s'
               % (user, DOMAIN, to, subject, mid, extra_headers, body))
        self.dovecot.append(user, self.USERS[user], 'Drafts', raw.encode(), flags='\\Draft')
        acct = self.account(user)
        r = self.jmap(user, ['Email/query', {'accountId': acct,
                                             'filter': {'inMailbox': self.mailbox_ids(user)['drafts'],
                                                        'header': ['Message-ID', mid]}}])
        ids = r[0][1]['ids']
        self.assertEqual(len(ids), 1, r)
        return ids[0], mid


class TestJmapSubmission(SendCase):

    def test_session_and_identity(self):
        st, _, sess = self.gw.json('GET', '/jmap/session', headers=self.auth('alice'))
        self.assertIn('urn:ietf:params:jmap:submission', sess['capabilities'])
        acct = sess['primaryAccounts']['urn:ietf:params:jmap:submission']
        caps = sess['accounts'][acct]['accountCapabilities']['urn:ietf:params:jmap:submission']
        self.assertEqual(caps['maxDelayedSend'], 0)
        r = self.jmap('alice', ['Identity/get', {'accountId': acct}],
                      ['Identity/changes', {'accountId': acct, 'sinceState': '1'}],
                      ['Identity/set', {'accountId': acct, 'destroy': ['i0'],
                                        'create': {'x': {'email': 'x@%s' % DOMAIN}}}])
        ident = r[0][1]['list']
        self.assertEqual(len(ident), 1)
        self.assertEqual(ident[0]['email'], 'alice@' + DOMAIN)
        self.assertFalse(ident[0]['mayDelete'])
        self.assertEqual(r[1][1]['created'], [])
        self.assertEqual(r[2][1]['notDestroyed']['i0']['type'], 'forbidden')
        self.assertEqual(r[2][1]['notCreated']['x']['type'], 'forbidden')
        # update: stored in the server's METADATA, seen by the next Identity/get
        r = self.jmap('carol', ['Identity/set', {'accountId': self.account('carol'), 'update': {'i0': {
            'name': 'Carol C\u00e4', 'textSignature': '-- \nCarol', 'htmlSignature': '<b>C</b>',
            'replyTo': [{'name': 'Desk', 'email': 'desk@' + DOMAIN}], 'bcc': None}}}],
                      ['Identity/get', {'accountId': self.account('carol')}],
                      ['Identity/changes', {'accountId': self.account('carol'), 'sinceState': '1'}],
                      ['Identity/set', {'accountId': self.account('carol'), 'update': {
                          'i0': {'email': 'other@' + DOMAIN}, 'i9': {'name': 'x'}}}],
                      ['Identity/set', {'accountId': self.account('carol'), 'update': {
                          'i0': {'replyTo': [{'email': 'bad\r\naddress'}]}}}])
        self.assertEqual(r[0][1]['updated'], {'i0': None}, r[0])
        self.assertNotEqual(r[0][1]['newState'], r[0][1]['oldState'])
        ident = r[1][1]['list'][0]
        self.assertEqual((ident['name'], ident['textSignature'], ident['htmlSignature']),
                         ('Carol C\u00e4', '-- \nCarol', '<b>C</b>'))
        self.assertEqual(ident['replyTo'], [{'name': 'Desk', 'email': 'desk@' + DOMAIN}])
        self.assertEqual(ident['email'], 'carol@' + DOMAIN)
        self.assertEqual(r[1][1]['state'], r[0][1]['newState'])
        self.assertEqual(r[2][1]['updated'], ['i0'])
        self.assertEqual(r[3][1]['notUpdated']['i0']['type'], 'invalidProperties')
        self.assertEqual(r[3][1]['notUpdated']['i9']['type'], 'notFound')
        self.assertEqual(r[4][1]['notUpdated']['i0']['type'], 'invalidProperties')
        # it really is in the server: a plain IMAP client sees the annotation
        m = self.dovecot.imap('carol', 'carolpass')
        try:
            typ, data = m.xatom('GETMETADATA', '""', '(/private/vendor/jmapgate/identity)')
            self.assertEqual(typ, 'OK')
            self.assertTrue(m.untagged_responses.get('METADATA'))
        finally:
            m.logout()
        r = self.jmap('alice', ['EmailSubmission/get', {'accountId': acct, 'ids': None}],
                      ['EmailSubmission/query', {'accountId': acct}],
                      ['EmailSubmission/changes', {'accountId': acct, 'sinceState': '0'}])
        self.assertEqual(r[0][1]['list'], [])
        self.assertEqual(r[1][1]['ids'], [])
        self.assertEqual(r[2][1]['created'], [])

    def test_draft_sent_moved_to_sent_without_bcc(self):
        acct = self.account('alice')
        boxes = self.mailbox_ids('alice')
        subject = 'Draft to send %s' % uuid.uuid4().hex[:8]
        eid, mid = self.draft('alice', 'Bob <bob@%s>' % DOMAIN, subject,
                              extra_headers='Cc: dan@%s\r\nBcc: Carol <carol@%s>\r\n' % (DOMAIN, DOMAIN))
        r = self.jmap('alice', ['EmailSubmission/set', {
            'accountId': acct,
            'create': {'s1': {'identityId': 'i0', 'emailId': eid}},
            'onSuccessUpdateEmail': {'#s1': {'keywords/$draft': None,
                                             'mailboxIds/' + boxes['drafts']: None,
                                             'mailboxIds/' + boxes['sent']: True}}}])
        self.assertEqual(r[0][0], 'EmailSubmission/set', r)
        self.assertIn('s1', r[0][1]['created'], r)
        created = r[0][1]['created']['s1']
        self.assertEqual(created['undoStatus'], 'final')
        self.assertEqual(sorted(a['email'] for a in created['envelope']['rcptTo']),
                         ['bob@' + DOMAIN, 'carol@' + DOMAIN, 'dan@' + DOMAIN])
        self.assertEqual(r[1][0], 'Email/set', r)
        self.assertIn(eid, r[1][1]['updated'])
        # the same Email (GUID id), now in Sent without $draft
        e = self.jmap('alice', ['Email/get', {'accountId': acct, 'ids': [eid],
                                              'properties': ['mailboxIds', 'keywords']}])[0][1]['list']
        self.assertEqual(e[0]['mailboxIds'], {boxes['sent']: True})
        self.assertNotIn('$draft', e[0]['keywords'])
        # every recipient got it, Bcc recipient included, none sees the Bcc
        for user in ('bob', 'carol', 'dan'):
            got = self.find(user, 'INBOX', mid.encode())
            self.assertTrue(got, '%s did not receive the message' % user)
            msg = email.message_from_bytes(got[0], policy=email.policy.default)
            self.assertEqual(msg['Subject'], subject)
            self.assertEqual(msg['Message-ID'], mid)
            self.assertEqual(msg['From'], 'Alice Example <alice@%s>' % DOMAIN)
            self.assertEqual(msg['Cc'], 'dan@' + DOMAIN)
            self.assertIsNone(msg['Bcc'])
            self.assertNotIn(b'carol@example.test>', got[0].split(b'\r\n\r\n')[0])
            self.assertIn('Hello there.', msg.get_content())
        # the draft left Drafts, is in Sent without \Draft (and keeps its Bcc there)
        self.assertFalse([raw for _, raw in self.fetch_all('alice', 'Drafts') if mid.encode() in raw])
        sent = [(f, raw) for f, raw in self.fetch_all('alice', 'Sent') if mid.encode() in raw]
        self.assertEqual(len(sent), 1)
        self.assertNotIn('\\Draft', sent[0][0])
        self.assertIn(b'Bcc: Carol', sent[0][1])

    def test_reply_threads_with_original(self):
        # bob writes to alice; alice replies through the gateway
        orig_mid = '<%s@%s>' % (uuid.uuid4().hex, DOMAIN)
        self.dovecot.append('alice', 'alicepass', 'INBOX',
                            ('From: bob@%s\r\nTo: alice@%s\r\nSubject: Lunch?\r\nMessage-ID: %s\r\n'
                             'Date: Mon, 1 Dec 2026 09:00:00 +0000\r\n\r\nLunch at noon?\r\n'
                             % (DOMAIN, DOMAIN, orig_mid)).encode())
        eid, mid = self.draft('alice', 'bob@' + DOMAIN, 'Re: Lunch?',
                              extra_headers='In-Reply-To: %s\r\nReferences: %s\r\n' % (orig_mid, orig_mid),
                              body='Yes!\r\n')
        acct = self.account('alice')
        r = self.jmap('alice', ['EmailSubmission/set', {
            'accountId': acct, 'create': {'s': {'identityId': 'i0', 'emailId': eid}}}])
        self.assertIn('s', r[0][1]['created'], r)
        # the submission's threadId is the draft's, which is the original's
        tid = self.jmap('alice', ['Email/get', {'accountId': acct, 'ids': [eid], 'properties': ['threadId']}])
        self.assertEqual(r[0][1]['created']['s']['threadId'], tid[0][1]['list'][0]['threadId'])
        got = self.find('bob', 'INBOX', mid.encode())
        self.assertTrue(got)
        msg = email.message_from_bytes(got[0], policy=email.policy.default)
        self.assertEqual(msg['In-Reply-To'], orig_mid)
        self.assertEqual(msg['References'], orig_mid)
        # the gateway threads the reply with the original in bob's mailbox too
        self.dovecot.append('bob', 'bobpass', 'INBOX',
                            ('From: bob@%s\r\nTo: alice@%s\r\nSubject: Lunch?\r\nMessage-ID: %s\r\n'
                             'Date: Mon, 1 Dec 2026 09:00:00 +0000\r\n\r\nLunch at noon?\r\n'
                             % (DOMAIN, DOMAIN, orig_mid)).encode())
        bacct = self.account('bob')
        r = self.jmap('bob', ['Email/query', {'accountId': bacct,
                                              'filter': {'header': ['Message-ID', mid]}}],
                      ['Email/query', {'accountId': bacct,
                                       'filter': {'header': ['Message-ID', orig_mid]}}],
                      ['Email/get', {'accountId': bacct, '#ids': {'resultOf': 'c0', 'name': 'Email/query',
                                                                  'path': '/ids'},
                                     'properties': ['threadId']}],
                      ['Email/get', {'accountId': bacct, '#ids': {'resultOf': 'c1', 'name': 'Email/query',
                                                                  'path': '/ids'},
                                     'properties': ['threadId']}])
        self.assertEqual(r[2][1]['list'][0]['threadId'], r[3][1]['list'][0]['threadId'])

    def test_email_set_create_then_submit_by_creation_id(self):
        """The usual client flow with a built draft: Email/set create in Drafts
        with $draft, EmailSubmission/set emailId "#draft" in the same request,
        onSuccessUpdateEmail files it in Sent; bob gets what was built."""
        acct = self.account('alice')
        boxes = self.mailbox_ids('alice')
        subject = 'Gr\u00fc\u00dfe built %s' % uuid.uuid4().hex[:8]
        r = self.jmap('alice', ['Email/set', {'accountId': acct, 'create': {'draft': {
            'mailboxIds': {boxes['drafts']: True}, 'keywords': {'$draft': True},
            'from': [{'name': 'Alice \u00c4', 'email': 'alice@' + DOMAIN}],
            'to': [{'name': 'Bob', 'email': 'bob@' + DOMAIN}], 'subject': subject,
            'textBody': [{'partId': 't'}], 'bodyValues': {'t': {'value': 'K\u00f6ln\n'}}}}}],
                      ['EmailSubmission/set', {
                          'accountId': acct, 'create': {'s': {'identityId': 'i0', 'emailId': '#draft'}},
                          'onSuccessUpdateEmail': {'#s': {'mailboxIds': {boxes['sent']: True},
                                                          'keywords/$draft': None}}}])
        self.assertIn('draft', r[0][1]['created'], r[0])
        self.assertIn('s', r[1][1]['created'], r[1])
        self.assertEqual(r[2][0], 'Email/set')
        def mine_in_inbox():
            msgs = [email.message_from_bytes(raw, policy=email.policy.default)
                    for _, raw in self.fetch_all('bob', 'INBOX')]
            return [m for m in msgs if str(m['Subject']) == subject]
        mine = wait_for(mine_in_inbox)
        self.assertEqual(len(mine or []), 1)
        self.assertEqual(mine[0].get_content().replace('\r\n', '\n'), 'K\u00f6ln\n')
        self.assertIsNone(mine[0]['Bcc'])
        sent = self.fetch_all('alice', 'Sent')
        self.assertTrue(any(subject.encode('utf-8') in str(
            email.message_from_bytes(raw, policy=email.policy.default)['Subject']).encode('utf-8')
            and '\\Draft' not in flags for flags, raw in sent))

    def test_creation_id_reference_and_errors(self):
        acct = self.account('alice')
        eid, mid = self.draft('alice', 'bob@' + DOMAIN, 'ref test')
        # "#x" resolves through the request's createdIds
        body = {'using': USING, 'createdIds': {'draft1': eid},
                'methodCalls': [['EmailSubmission/set', {
                    'accountId': acct,
                    'create': {'s': {'identityId': 'i0', 'emailId': '#draft1'},
                               'bad1': {'identityId': 'nope', 'emailId': eid},
                               'bad2': {'identityId': 'i0', 'emailId': '#unknown'},
                               'bad3': {'identityId': 'i0', 'emailId': eid,
                                        'envelope': {'mailFrom': {'email': 'alice@' + DOMAIN},
                                                     'rcptTo': [{'email': 'bob@%s\r\nRSET' % DOMAIN}]}},
                               'bad4': {'identityId': 'i0', 'emailId': eid,
                                        'envelope': {'mailFrom': {'email': 'mallory@' + DOMAIN},
                                                     'rcptTo': [{'email': 'bob@' + DOMAIN}]}},
                               'bad5': {'identityId': 'i0', 'emailId': eid,
                                        'envelope': {'mailFrom': {'email': 'alice@' + DOMAIN},
                                                     'rcptTo': []}},
                               'bad6': {'identityId': 'i0', 'emailId': eid,
                                        'envelope': {'mailFrom': {'email': 'alice@' + DOMAIN,
                                                                  'parameters': {'RET': 'HDRS'}},
                                                     'rcptTo': [{'email': 'bob@' + DOMAIN}]}}}}, 'c0']]}
        st, _, out = self.gw.json('POST', '/jmap/api', body, headers=self.auth('alice'))
        self.assertEqual(st, 200, out)
        res = out['methodResponses'][0][1]
        self.assertIn('s', res['created'], res)
        self.assertEqual(out['createdIds']['s'], res['created']['s']['id'])
        nc = res['notCreated']
        self.assertEqual(nc['bad1']['type'], 'invalidProperties')
        self.assertEqual(nc['bad2']['type'], 'invalidProperties')
        self.assertEqual(nc['bad3']['type'], 'invalidRecipients')
        self.assertEqual(nc['bad3']['invalidRecipients'], ['bob@%s\r\nRSET' % DOMAIN])
        self.assertEqual(nc['bad4']['type'], 'forbiddenMailFrom')
        self.assertEqual(nc['bad5']['type'], 'noRecipients')
        self.assertEqual(nc['bad6']['type'], 'invalidProperties')
        self.assertEqual(nc['bad6']['properties'], ['envelope'])
        # exactly one copy arrived
        self.assertEqual(len(self.find('bob', 'INBOX', mid.encode())), 1)

    def test_on_success_destroy(self):
        acct = self.account('alice')
        eid, mid = self.draft('alice', 'bob@' + DOMAIN, 'send and forget')
        r = self.jmap('alice', ['EmailSubmission/set', {
            'accountId': acct, 'create': {'k': {'identityId': 'i0', 'emailId': eid}},
            'onSuccessDestroyEmail': ['#k'], 'onSuccessUpdateEmail': {'#other': {'keywords/$seen': True}}}])
        self.assertIn('k', r[0][1]['created'], r)
        self.assertEqual(r[1][0], 'Email/set')
        self.assertEqual(r[1][1]['destroyed'], [eid])
        self.assertTrue(self.find('bob', 'INBOX', mid.encode()))
        self.assertFalse([raw for _, raw in self.fetch_all('alice', 'Drafts') if mid.encode() in raw])

    def test_wrong_smtp_password_leaves_the_draft(self):
        # the real server stops accepting alice's password (a changed
        # submission password): a clear error, the draft untouched, nothing sent
        acct = self.account('alice')
        boxes = self.mailbox_ids('alice')
        eid, mid = self.draft('alice', 'bob@' + DOMAIN, 'wrong password')
        self.smtp.set_users(dict(self.USERS, alice='not-alicepass'))
        try:
            r = self.jmap('alice', ['EmailSubmission/set', {
                'accountId': acct, 'create': {'s': {'identityId': 'i0', 'emailId': eid}},
                'onSuccessUpdateEmail': {'#s': {'keywords/$draft': None,
                                                'mailboxIds/' + boxes['drafts']: None,
                                                'mailboxIds/' + boxes['sent']: True}}}])
            st, _, out = self.gw.json('POST', '/api/v1/messages/send',
                                      {'to': ['bob@' + DOMAIN], 'text': 'x', 'subject': mid},
                                      headers=self.auth('alice'))
        finally:
            self.smtp.set_users(self.USERS)
        self.assertEqual(len(r), 1, r)               # no implicit Email/set
        e = r[0][1]['notCreated']['s']
        self.assertEqual(e['type'], 'forbidden')
        self.assertIn('refused the login', e['description'])
        self.assertEqual(st, 502, out)
        self.assertIn('refused the login', out['detail'])
        drafts = [(f, raw) for f, raw in self.fetch_all('alice', 'Drafts') if mid.encode() in raw]
        self.assertEqual(len(drafts), 1)
        self.assertIn('\\Draft', drafts[0][0])
        self.assertFalse([raw for _, raw in self.fetch_all('alice', 'Sent') if mid.encode() in raw])
        time.sleep(1)
        self.assertFalse([raw for _, raw in self.fetch_all('bob', 'INBOX') if mid.encode() in raw])
        self.assertNotIn('alicepass', self.gw.log_text())

    def test_import_then_submit_in_one_request(self):
        # the client's usual flow: upload the draft's bytes, Email/import it into
        # Drafts and submit it by its creation id, all in one request
        acct = self.account('alice')
        boxes = self.mailbox_ids('alice')
        mid = '<%s@%s>' % (uuid.uuid4().hex, DOMAIN)
        raw = ('From: alice@%s\r\nTo: bob@%s\r\nSubject: imported\r\nMessage-ID: %s\r\n\r\nhi\r\n'
               % (DOMAIN, DOMAIN, mid)).encode()
        st, _, up = self.gw.request('POST', '/jmap/upload/' + acct, body=raw,
                                    headers=dict(self.auth('alice'), **{'Content-Type': 'message/rfc822'}))
        self.assertEqual(st, 201, up)
        r = self.jmap('alice',
                      ['Email/import', {'accountId': acct, 'emails': {'d1': {
                          'blobId': json.loads(up)['blobId'], 'mailboxIds': {boxes['drafts']: True},
                          'keywords': {'$draft': True, '$seen': True}}}}],
                      ['EmailSubmission/set', {'accountId': acct,
                                               'create': {'s': {'identityId': 'i0', 'emailId': '#d1'}},
                                               'onSuccessUpdateEmail': {'#s': {
                                                   'keywords/$draft': None,
                                                   'mailboxIds/' + boxes['drafts']: None,
                                                   'mailboxIds/' + boxes['sent']: True}}}])
        self.assertIn('d1', r[0][1]['created'], r)
        self.assertIn('s', r[1][1]['created'], r)
        self.assertEqual(r[1][1]['created']['s']['emailId'], r[0][1]['created']['d1']['id'])
        self.assertEqual(r[2][0], 'Email/set')
        self.assertTrue(self.find('bob', 'INBOX', mid.encode()))
        sent = [f for f, raw in self.fetch_all('alice', 'Sent') if mid.encode() in raw]
        self.assertEqual(len(sent), 1)
        self.assertNotIn('\\Draft', sent[0])

    def test_forbidden_from(self):
        acct = self.account('alice')
        mid = '<%s@%s>' % (uuid.uuid4().hex, DOMAIN)
        self.dovecot.append('alice', 'alicepass', 'Drafts',
                            ('From: bob@%s\r\nTo: carol@%s\r\nSubject: spoof\r\nMessage-ID: %s\r\n\r\nx\r\n'
                             % (DOMAIN, DOMAIN, mid)).encode(), flags='\\Draft')
        r = self.jmap('alice', ['Email/query', {'accountId': acct, 'filter': {'header': ['Message-ID', mid]}}])
        eid = r[0][1]['ids'][0]
        r = self.jmap('alice', ['EmailSubmission/set', {
            'accountId': acct, 'create': {'s': {'identityId': 'i0', 'emailId': eid}}}])
        self.assertEqual(r[0][1]['notCreated']['s']['type'], 'forbiddenFrom')

    def test_recipient_push_sees_new_mail(self):
        bacct = self.account('bob')
        with self.gw.sse('/jmap/eventsource?types=*&closeafter=no&ping=0',
                         headers=self.auth('bob')) as stream:
            self.assertEqual(stream.status, 200)
            stream.events(5, 1.0)     # the initial state
            time.sleep(0.5)
            eid, mid = self.draft('alice', 'bob@' + DOMAIN, 'push me')
            r = self.jmap('alice', ['EmailSubmission/set', {
                'accountId': self.account('alice'),
                'create': {'s': {'identityId': 'i0', 'emailId': eid}}}])
            self.assertIn('s', r[0][1]['created'], r)
            evs = [e for e in stream.events(10, 8.0) if e.get('event') == 'state']
            self.assertTrue(evs, 'no state event for bob')
            changed = json.loads(evs[-1]['data'])['changed'][bacct]
            self.assertIn('Email', changed)
        self.assertTrue(self.find('bob', 'INBOX', mid.encode()))


class TestRestSend(SendCase):

    def send(self, user, obj, headers=None):
        h = self.auth(user)
        h.update(headers or {})
        return self.gw.json('POST', '/api/v1/messages/send', obj, headers=h)

    def test_send_with_attachment_and_sent_copy(self):
        subject = 'REST send %s \u00e9t\u00e9' % uuid.uuid4().hex[:8]
        payload = bytes(range(256)) * 40
        st, hdrs, out = self.send('alice', {
            'to': [{'name': 'Bob B\u00f6', 'email': 'bob@' + DOMAIN}], 'bcc': ['carol@' + DOMAIN],
            'subject': subject, 'text': 'Plain body\n\u00fcml\u00e4ut\n.\n..leading dots\n',
            'html': '<p>HTML body</p>',
            'attachments': [{'filename': 'data.bin', 'type': 'application/octet-stream',
                             'content': __import__('base64').b64encode(payload).decode()}]})
        self.assertEqual(st, 202, out)
        mid = out['messageId']
        self.assertEqual(out['stored']['mailbox'], 'Sent')
        loc = {k.lower(): v for k, v in hdrs.items()}['location']
        self.assertEqual(loc, out['stored']['location'])
        for user in ('bob', 'carol'):
            got = self.find(user, 'INBOX', mid.encode())
            self.assertTrue(got, user)
            msg = email.message_from_bytes(got[0], policy=email.policy.default)
            self.assertEqual(msg['Subject'], subject)
            self.assertIsNone(msg['Bcc'])
            self.assertEqual(msg['To'].addresses[0].display_name, 'Bob B\u00f6')
            body = msg.get_body(('plain',))
            self.assertEqual(body.get_content(), 'Plain body\n\u00fcml\u00e4ut\n.\n..leading dots\n')
            self.assertIn('HTML body', msg.get_body(('html',)).get_content())
            atts = list(msg.iter_attachments())
            self.assertEqual(len(atts), 1)
            self.assertEqual(atts[0].get_filename(), 'data.bin')
            self.assertEqual(atts[0].get_content(), payload)
        sent = [(f, raw) for f, raw in self.fetch_all('alice', 'Sent') if mid.encode() in raw]
        self.assertEqual(len(sent), 1)
        self.assertIn('\\Seen', sent[0][0])
        self.assertIn(b'Bcc: <carol@example.test>', sent[0][1])
        st, _, one = self.gw.json('GET', loc, headers=self.auth('alice'))
        self.assertEqual(st, 200, one)

    def test_attachment_by_uploaded_blob(self):
        payload = b'%PDF-1.4 fake\x00\xff' * 100
        st, _, up = self.gw.request('POST', '/jmap/upload/' + self.account('alice'), body=payload,
                                    headers=dict(self.auth('alice'), **{'Content-Type': 'application/pdf'}))
        self.assertEqual(st, 201, up)
        blob = json.loads(up)['blobId']
        st, _, out = self.send('alice', {'to': ['bob@' + DOMAIN], 'subject': 'blob', 'text': 'see pdf',
                                         'attachments': [{'blobId': blob, 'type': 'application/pdf',
                                                          'filename': 'a.pdf'}]})
        self.assertEqual(st, 202, out)
        got = self.find('bob', 'INBOX', out['messageId'].encode())
        msg = email.message_from_bytes(got[0], policy=email.policy.default)
        att = list(msg.iter_attachments())
        self.assertEqual((att[0].get_filename(), att[0].get_content_type()), ('a.pdf', 'application/pdf'))
        self.assertEqual(att[0].get_content(), payload)
        st, _, out = self.send('alice', {'to': ['bob@' + DOMAIN], 'text': 'x',
                                         'attachments': [{'blobId': 'Bnope'}]})
        self.assertEqual(st, 400, out)

    def test_reply_fields(self):
        orig = '<%s@%s>' % (uuid.uuid4().hex, DOMAIN)
        st, _, out = self.send('alice', {'to': ['bob@' + DOMAIN], 'subject': 'Re: x', 'text': 'ok',
                                         'inReplyTo': orig, 'references': ['<root@x.test>', orig]})
        self.assertEqual(st, 202, out)
        got = self.find('bob', 'INBOX', out['messageId'].encode())
        msg = email.message_from_bytes(got[0], policy=email.policy.default)
        self.assertEqual(msg['In-Reply-To'], orig)
        self.assertEqual(msg['References'], '<root@x.test> ' + orig)

    def test_bad_input(self):
        cases = [
            ({'to': ['bob@' + DOMAIN], 'subject': 'a\r\nBcc: x@evil.test', 'text': 'x'}, 400, None),
            ({'to': ['bob@%s>\r\nRCPT TO:<x@evil.test' % DOMAIN], 'text': 'x'}, 400, None),
            ({'to': [], 'text': 'x'}, 400, 'noRecipients'),
            ({'to': ['bob@' + DOMAIN]}, 400, None),
            ({'to': ['bob@' + DOMAIN], 'text': 'x', 'from': 'mallory@' + DOMAIN}, 403, 'forbiddenFrom'),
            ({'to': ['nobody@elsewhere.test'], 'text': 'x'}, 400, 'invalidRecipients'),
            ({'to': ['bob@' + DOMAIN], 'text': 'x', 'inReplyTo': 'not-an-id'}, 400, None),
            ({'to': ['bob@' + DOMAIN], 'text': 'x', 'attachments': [{'content': '!!'}]}, 400, None),
        ]
        for body, status, error in cases:
            st, hdrs, out = self.send('alice', body)
            self.assertEqual(st, status, (body, out))
            self.assertIn('problem+json', {k.lower(): v for k, v in hdrs.items()}['content-type'])
            if error:
                self.assertEqual(out['error'], error, out)
        st, _, out = self.gw.json('POST', '/api/v1/messages/send', {'to': ['bob@' + DOMAIN], 'text': 'x'})
        self.assertEqual(st, 401)


class TestRateLimit(SendCase):
    GATEWAY_ENV = {'JMAPGATE_SEND_RATE_LIMIT': '2', 'JMAPGATE_SMTP_MAX_RECIPIENTS': '2'}

    def test_recipient_limit(self):
        st, _, out = self.gw.json('POST', '/api/v1/messages/send',
                                  {'to': ['bob@' + DOMAIN, 'carol@' + DOMAIN], 'cc': ['dan@' + DOMAIN],
                                   'text': 'x'}, headers=self.auth('carol'))
        self.assertEqual(st, 400, out)
        self.assertEqual((out['error'], out['maxRecipients']), ('tooManyRecipients', 2))

    def test_rate_limit(self):
        h = self.auth('dan')
        for i in range(2):
            st, _, out = self.gw.json('POST', '/api/v1/messages/send',
                                      {'to': ['bob@' + DOMAIN], 'text': 'n%d' % i}, headers=h)
            self.assertEqual(st, 202, out)
        st, hdrs, out = self.gw.json('POST', '/api/v1/messages/send',
                                     {'to': ['bob@' + DOMAIN], 'text': 'n3'}, headers=h)
        self.assertEqual(st, 429, out)
        self.assertEqual(out['error'], 'rateLimit')
        self.assertGreaterEqual(int({k.lower(): v for k, v in hdrs.items()}['retry-after']), 1)
        # JMAP shares the budget
        eid, _ = self.draft('dan', 'bob@' + DOMAIN, 'limited')
        r = self.jmap('dan', ['EmailSubmission/set', {'accountId': self.account('dan'),
                                                      'create': {'s': {'identityId': 'i0', 'emailId': eid}}}])
        self.assertEqual(r[0][1]['notCreated']['s']['type'], 'rateLimit')
        # another account is not affected
        st, _, out = self.gw.json('POST', '/api/v1/messages/send',
                                  {'to': ['bob@' + DOMAIN], 'text': 'other'}, headers=self.auth('alice'))
        self.assertEqual(st, 202, out)


if __name__ == '__main__':
    unittest.main()
