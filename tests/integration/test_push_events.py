"""Push never misses a change (issue 10), against a real Dovecot, in both
ways of hearing: per-folder IDLE (push_mode examine) and NOTIFY (auto).

The gateway enables QRESYNC, so Dovecot reports expunges to its watchers as
VANISHED; the old watcher compared libetpan's EXISTS counter (which
VANISHED does not lower) and dropped the next arrival."""
import json
import random
import re
import time
import unittest

from fixture import wait_for
from test_push import PushBase
from upstream import requires, skip_on

JMAP_USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail']


class EventsCases:
    """Mixed into one TestCase per push mode (below)."""
    USERS = {'ann': 'annpass', 'ben': 'benpass', 'cyd': 'cydpass', 'dot': 'dotpass'}
    MODE = None

    def setUp(self):
        # the previous test's watchers outlive their streams by the grace (1 s)
        self.assertTrue(wait_for(lambda: self.gw.metric('jmapgate_push_watchers') == 0, 10),
                        'watchers of the previous test still alive')

    # -- helpers ---------------------------------------------------------
    def imap(self, user, box='INBOX'):
        m = self.dovecot.imap(user, self.USERS[user])
        self.addCleanup(lambda: m.logout())
        if box:
            self.assertEqual(m.select(box)[0], 'OK')
        return m

    def status(self, user, box='INBOX'):
        m = self.dovecot.imap(user, self.USERS[user])
        try:
            typ, data = m.status(box, '(MESSAGES UIDVALIDITY)')
        finally:
            m.logout()
        self.assertEqual(typ, 'OK')
        text = data[0].decode()
        return (int(re.search(r'UIDVALIDITY (\d+)', text).group(1)),
                int(re.search(r'MESSAGES (\d+)', text).group(1)))

    def uids(self, m):
        typ, data = m.uid('SEARCH', 'ALL')
        self.assertEqual(typ, 'OK')
        return [int(x) for x in data[0].split()]

    def account(self, user):
        st, _, sess = self.gw.json('GET', '/jmap/session',
                                   headers={'Authorization': 'Bearer ' + self.token(user)})
        self.assertEqual(st, 200)
        return sess['primaryAccounts']['urn:ietf:params:jmap:mail']

    def jmap(self, user, *calls):
        body = {'using': JMAP_USING,
                'methodCalls': [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = self.gw.json('POST', '/jmap/api', body,
                                  headers={'Authorization': 'Bearer ' + self.token(user)})
        self.assertEqual(st, 200, out)
        return out['methodResponses']

    def open_both(self, user):
        rest = self.open(user, '/api/v1/events?mailbox=INBOX')
        jm = self.open(user, '/jmap/eventsource?types=*&closeafter=no&ping=0')
        self.assertEqual((rest.status, jm.status), (200, 200))
        self.wait_idle(1)
        # the streams are subscribed and the watcher has its first snapshot:
        # a change now is a change against it
        time.sleep(0.3)
        rest.events(20, 0.2)
        jm.events(20, 0.2)
        if self.MODE == 'auto':   # Dovecot offers NOTIFY: one connection hears INBOX
            self.assertNotIn('watching each folder with IDLE', self.gw.log_text())
            self.assertEqual(self.gw.metric('jmapgate_push_idle_connections'), 1)
        return rest, jm

    def rest_event_until(self, s, pred, timeout=5.0):
        """The first 'changed' event whose data satisfies pred, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.next_event(s, 'changed', timeout=deadline - time.monotonic())
            if ev is None:
                return None
            data = json.loads(ev['data'])
            if pred(data):
                return data
        return None

    def expunge_one(self, m, uid):
        m.uid('STORE', str(uid), '+FLAGS.SILENT', '(\\Deleted)')
        self.assertEqual(m.expunge()[0], 'OK')

    # -- tests -------------------------------------------------------------
    @skip_on(("cyrus",), "Cyrus sends the \\Deleted FETCH and the VANISHED in two IDLE periods: a second, redundant expunge event with the same counts (README)")
    @requires("IDLE")
    def test_arrival_after_vanished(self):
        """Issue 10's sequence: expunge, wait, append: the arrival is pushed."""
        user = 'ann'
        for _ in range(3):
            self.append(user)
        rest, jm = self.open_both(user)
        m = self.imap(user)
        self.expunge_one(m, self.uids(m)[0])
        data = self.rest_event_until(rest, lambda d: d['reason'] == 'expunge')
        self.assertIsNotNone(data, 'no expunge event')
        self.assertEqual(data['exists'], 2)
        self.assertIsNotNone(self.next_event(jm, 'state', timeout=5), 'no JMAP state (expunge)')
        time.sleep(1.5)       # the watcher is back in IDLE, as in the log
        jm.events(20, 0.1)
        self.append(user)     # EXISTS 3: the number libetpan never lowered
        data = self.rest_event_until(rest, lambda d: True)
        self.assertIsNotNone(data, 'the arrival after a VANISHED was not published')
        self.assertEqual((data['reason'], data['exists']), ('new', 3))
        self.assertEqual((data['uidvalidity'], data['exists']), self.status(user))
        self.assertIsNotNone(self.next_event(jm, 'state', timeout=5),
                             'no JMAP state for the arrival after a VANISHED')

    @skip_on(("cyrus",), "Cyrus sends the \\Deleted FETCH and the VANISHED in two IDLE periods: a second, redundant expunge event with the same counts (README)")
    @requires("IDLE")
    def test_flag_change_after_vanished(self):
        user = 'ben'
        for _ in range(3):
            self.append(user)
        rest, jm = self.open_both(user)
        m = self.imap(user)
        uids = self.uids(m)
        self.expunge_one(m, uids[0])
        data = self.rest_event_until(rest, lambda d: d['reason'] == 'expunge')
        self.assertIsNotNone(data, 'no expunge event')
        self.assertIsNotNone(self.next_event(jm, 'state', timeout=5), 'no JMAP state (expunge)')
        time.sleep(1.5)
        jm.events(20, 0.1)
        m.uid('STORE', str(uids[1]), '+FLAGS', '(\\Flagged)')
        data = self.rest_event_until(rest, lambda d: True)
        self.assertIsNotNone(data, 'the flag change after a VANISHED was not published')
        self.assertEqual((data['reason'], data['exists']), ('flags', 2))
        self.assertIsNotNone(self.next_event(jm, 'state', timeout=5),
                             'no JMAP state for the flag change after a VANISHED')

    @requires("CONDSTORE")
    def test_burst_ends_in_imap_state(self):
        """20 mixed changes: the last REST event is IMAP's STATUS, the last
        JMAP Email state is one Email/changes accepts as current."""
        user = 'cyd'
        rnd = random.Random(10)
        for _ in range(8):
            self.append(user)
        acct = self.account(user)
        rest, jm = self.open_both(user)
        m = self.imap(user)
        for i in range(20):
            uids = self.uids(m)
            op = i % 3
            if op == 0 or not uids:
                self.append(user)
            elif op == 1:
                m.uid('STORE', str(rnd.choice(uids)), '+FLAGS.SILENT',
                      rnd.choice(['(\\Seen)', '(\\Flagged)', '(\\Answered)']))
            else:
                self.expunge_one(m, rnd.choice(uids))
        want = self.status(user)
        # settle: read until both streams are quiet for 1.5 s (bounded)
        last_rest = last_jmap = None
        deadline = time.monotonic() + 20
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 1.5:
            got = False
            for ev in rest.events(50, 0.1):
                if ev.get('event') == 'changed':
                    last_rest, got = json.loads(ev['data']), True
            for ev in jm.events(50, 0.1):
                if ev.get('event') == 'state':
                    last_jmap, got = json.loads(ev['data']), True
            if got:
                quiet_since = time.monotonic()
        self.assertIsNotNone(last_rest, 'no REST event for the burst')
        self.assertIsNotNone(last_jmap, 'no JMAP state for the burst')
        self.assertEqual((last_rest['uidvalidity'], last_rest['exists']), want)
        pushed = last_jmap['changed'][acct]
        out = self.jmap(user, ['Email/changes', {'accountId': acct,
                                                 'sinceState': pushed['Email']}],
                        ['Email/get', {'accountId': acct, 'ids': []}],
                        ['Mailbox/get', {'accountId': acct, 'ids': []}])
        self.assertEqual(out[0][0], 'Email/changes', out[0])
        ch, get, mb = out[0][1], out[1][1], out[2][1]
        self.assertEqual(ch['newState'], get['state'])
        self.assertEqual(pushed['Email'], get['state'])
        self.assertEqual((ch['created'], ch['updated'], ch['destroyed']), ([], [], []))
        self.assertEqual(pushed['Mailbox'], mb['state'])


class ExamineEventsTest(EventsCases, PushBase):
    USERS = EventsCases.USERS
    MODE = 'examine'
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_PUSH_MODE='examine')


@requires("NOTIFY")
class NotifyEventsTest(EventsCases, PushBase):
    USERS = EventsCases.USERS
    MODE = 'auto'
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_PUSH_MODE='auto')


if __name__ == '__main__':
    unittest.main()
