"""Realtime push: /api/v1/events and /jmap/eventsource against a real Dovecot.

An independent IMAP client (the fixture's imaplib) changes the mail; the
gateway's IDLE watchers must notice and stream the change."""
import json
import os
import re
import time
import unittest

from fixture import StackTestCase

MSG = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: push %d\r\n"
       b"Message-ID: <push-%d@example.org>\r\n\r\nbody\r\n")


def metric(gw, name):
    st, _, body = gw.request('GET', '/metrics')
    m = re.search(r'^%s(?:\{[^}]*\})? (\S+)$' % re.escape(name), body.decode(), re.M)
    return float(m.group(1)) if m else None


def wait_for(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


class PushBase(StackTestCase):
    USERS = {'alice': 'alicepass', 'bob': 'bobpass', 'carol': 'carolpass',
             'dave': 'davepass', 'erin': 'erinpass', 'frank': 'frankpass'}
    GATEWAY_ENV = {'JMAPGATE_WATCH_GRACE': '1', 'JMAPGATE_PUSH_BACKOFF_MAX': '2',
                   'JMAPGATE_LOG_LEVEL': 'info'}
    seq = 0

    def append(self, user, box='INBOX'):
        PushBase.seq += 1
        return self.dovecot.append(user, self.USERS[user], box, MSG % (self.seq, self.seq))

    def token(self, user):
        return self.gw.login(user, self.USERS[user])

    def open(self, user, path, headers=None):
        h = {'Authorization': 'Bearer ' + self.token(user)}
        h.update(headers or {})
        s = self.gw.sse(path, headers=h)
        self.addCleanup(s.close)
        return s

    def wait_idle(self, n=1, timeout=10):
        ok = wait_for(lambda: (metric(self.gw, 'jmapgate_push_idle_connections') or 0) >= n,
                      timeout)
        self.assertTrue(ok, 'no IDLE watcher after %s s' % timeout)

    def next_event(self, s, kind='changed', timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            evs = s.events(1, deadline - time.monotonic())
            if not evs:
                break
            if evs[0].get('event') == kind:
                return evs[0]
        return None


class RestEventsTest(PushBase):
    def test_new_mail_within_2s(self):
        s = self.open('alice', '/api/v1/events?mailbox=INBOX')
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers['content-type'].startswith('text/event-stream'))
        self.assertEqual(s.headers.get('cache-control'), 'no-cache')
        self.assertEqual(s.headers.get('x-accel-buffering'), 'no')
        self.wait_idle()
        t0 = time.monotonic()
        self.append('alice')
        ev = self.next_event(s, timeout=5)
        took = time.monotonic() - t0
        self.assertIsNotNone(ev, 'no changed event')
        self.assertLess(took, 2.0)
        data = json.loads(ev['data'])
        self.assertEqual(data['mailbox'], 'INBOX')
        self.assertEqual(data['reason'], 'new')
        self.assertGreaterEqual(data['exists'], 1)
        self.assertIsInstance(data['uidvalidity'], int)
        self.assertTrue(ev['id'].isdigit())
        print('push latency (append -> event): %.3f s' % took)
