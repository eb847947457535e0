"""Several instances behind a real nginx (issue 16, ARCHITECTURE.md §8):
Dovecot, two gateways with one secret, and Debian's nginx running the
config docker/nginx.conf ships. API requests are spread over both; every
SSE stream of one account (REST and JMAP, two different logins) lands on
one instance, which holds the account's only upstream watcher; SIGKILL of
that instance -> the clients reconnect through nginx within their retry
time, resume with Last-Event-ID, get the missed events or `resync`, and
after catching up with the delta API their view equals IMAP."""
import http.client
import json
import os
import re
import signal
import time
import unittest
import urllib.parse

import nginxfleet
from fixture import Dovecot, Gateway, SSEStream, free_port

USER, PASSWORD = 'alice', 'alicepass'


def metric(text, name, labels=None):
    lab = ''
    if labels:
        lab = '{' + ','.join('%s="%s"' % kv for kv in labels.items()) + '}'
    for line in text.splitlines():
        if line.startswith(name + lab + ' '):
            return float(line.split()[-1])
    return 0.0


class EventSourceClient:
    """What a browser EventSource does: keep the last event id and the
    server's retry time; after the stream ends, wait retry ms and reopen
    the same URL with Last-Event-ID."""

    def __init__(self, port, path, headers):
        self.port, self.path, self.headers = port, path, dict(headers)
        self.last_id = None
        self.retry_ms = 3000
        self.events = []
        self.stream = None
        self.open()

    def open(self):
        self.close()
        h = dict(self.headers)
        if self.last_id is not None:
            h['Last-Event-ID'] = self.last_id
        self.stream = SSEStream('127.0.0.1', self.port, self.path, h, timeout=10)
        assert self.stream.status == 200, (self.path, self.stream.status, self.stream.body)

    def read(self, timeout):
        got = []
        for ev in self.stream.events(50, timeout=timeout):
            if ev.get('retry'):
                self.retry_ms = int(ev['retry'])
            if ev.get('id'):
                self.last_id = ev['id']
            if ev.get('event'):
                got.append(ev)
        self.events += got
        return got

    def wait_for(self, names, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.read(min(0.5, max(0.05, deadline - time.monotonic()))):
                if ev['event'] in names:
                    return ev
            if self.stream.closed_by_server:
                return None
        return None

    def wait_closed(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.stream.closed_by_server and time.monotonic() < deadline:
            self.read(0.2)
        return self.stream.closed_by_server

    def close(self):
        if self.stream is not None:
            self.stream.close()


@unittest.skipUnless(nginxfleet.available(), 'nginx is not installed (scripts/install-deps)')
class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.t0 = time.monotonic()
        self.dovecot = Dovecot(users={USER: PASSWORD})
        self.dovecot.start()
        self.addCleanup(self.dovecot.close)
        ng_port = free_port()
        secret = os.urandom(32).hex()
        env = {'JMAPGATE_PUBLIC_URL': 'http://127.0.0.1:%d' % ng_port,
               'JMAPGATE_TRUSTED_PROXIES': '127.0.0.1'}
        self.gws = []
        for _ in range(2):
            gw = Gateway(self.dovecot.url, env=env, secret=secret)
            self.addCleanup(gw.close)
            gw.start()
            self.gws.append(gw)
        self.ng = nginxfleet.Nginx([gw.port for gw in self.gws], port=ng_port)
        self.addCleanup(self.ng.close)
        self.ng.start()

    # -- HTTP through nginx ------------------------------------------------
    def req(self, method, path, body=None, headers=None):
        c = http.client.HTTPConnection('127.0.0.1', self.ng.port, timeout=15)
        try:
            hdrs = dict(headers or {})
            if body is not None:
                body = json.dumps(body).encode()
                hdrs['Content-Type'] = 'application/json'
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, r, json.loads(data) if data.strip().startswith(b'{') else data
        finally:
            c.close()

    def login(self):
        st, r, doc = self.req('POST', '/api/v1/auth/login',
                              {'username': USER, 'password': PASSWORD})
        self.assertEqual(st, 200, doc)
        cookies = dict(re.findall(r'(jmapgate_\w+)=([^;]*)', ', '.join(r.headers.get_all('Set-Cookie'))))
        self.assertEqual(cookies.get('jmapgate_account'), doc['accountId'])
        return doc['token'], doc['accountId']

    def scrape(self, gw):
        st, _, body = gw.request('GET', '/metrics')
        self.assertEqual(st, 200)
        return body.decode()

    def imap_uids(self):
        m = self.dovecot.imap(USER, PASSWORD)
        try:
            m.select('INBOX', readonly=True)
            typ, data = m.uid('SEARCH', None, 'ALL')
            return sorted(int(x) for x in data[0].split())
        finally:
            m.logout()

    def append(self, subject):
        self.dovecot.append(USER, PASSWORD, 'INBOX',
                            ('Subject: %s\r\nFrom: a@example.org\r\n\r\nbody\r\n'
                             % subject).encode())

    # -- the test -----------------------------------------------------------
    def test_fleet_routing_and_failover(self):
        for i in range(3):
            self.append('seed %d' % i)
        tok1, acct = self.login()
        tok2, acct2 = self.login()          # a second device: another token
        self.assertEqual(acct, acct2)
        self.assertNotEqual(tok1, tok2)

        # 1. API requests go to both instances.
        for _ in range(10):
            st, _, _ = self.req('GET', '/api/v1/mailboxes',
                                headers={'Authorization': 'Bearer ' + tok1})
            self.assertEqual(st, 200)
        served = [metric(self.scrape(gw), 'jmapgate_http_requests_total',
                         {'route': 'mailboxes', 'status': '200'}) for gw in self.gws]
        self.assertTrue(all(n > 0 for n in served), 'both instances serve: %s' % served)

        # The client's view: a listing and its cursor, taken before anything fails.
        st, _, page = self.req('GET', '/api/v1/mailboxes/INBOX/messages?limit=100',
                               headers={'Authorization': 'Bearer ' + tok1})
        self.assertEqual(st, 200, page)
        view = {m['uid'] for m in page['messages']}
        cursor = page['cursor']
        self.assertEqual(sorted(view), self.imap_uids())

        # 2. Every stream of the account lands on one instance.
        st, _, session = self.req('GET', '/.well-known/jmap',
                                  headers={'Authorization': 'Bearer ' + tok1})
        self.assertEqual(st, 200, session)
        es = urllib.parse.urlsplit(session['eventSourceUrl'].replace('{types}', '*')
                                   .replace('{closeafter}', 'no').replace('{ping}', '0'))
        self.assertIn('account=' + acct, es.query)
        cookie = {'Cookie': 'jmapgate_account=' + acct}
        clients = {
            'rest_tok1': EventSourceClient(self.ng.port, '/api/v1/events?mailbox=INBOX',
                                           dict(cookie, Authorization='Bearer ' + tok1)),
            'rest_tok2': EventSourceClient(self.ng.port, '/api/v1/events?mailbox=INBOX',
                                           dict(cookie, Authorization='Bearer ' + tok2)),
            'jmap': EventSourceClient(self.ng.port, es.path + '?' + es.query,
                                      {'Authorization': 'Bearer ' + tok1}),
        }
        for c in clients.values():
            self.addCleanup(c.close)
        deadline = time.monotonic() + 10
        while True:
            texts = [self.scrape(gw) for gw in self.gws]
            streams = [metric(t, 'jmapgate_push_streams') for t in texts]
            watchers = [metric(t, 'jmapgate_upstream_open_connections', {'kind': 'watcher'})
                        for t in texts]
            if sorted(streams) == [0, 3] and sum(watchers) == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(sorted(streams), [0, 3], 'all streams of the account on one instance')
        owner = streams.index(3)
        self.assertEqual(watchers[owner], 1, 'one upstream watcher connection in the fleet')
        self.assertEqual(watchers[1 - owner], 0)

        # Push works through nginx.
        self.append('live')
        for name, c in clients.items():
            want = ('state',) if name == 'jmap' else ('changed',)
            self.assertIsNotNone(c.wait_for(want, 8), '%s: no event before the kill' % name)

        # 3. SIGKILL the owner while the streams are open; mail arrives meanwhile.
        t_kill = time.monotonic()
        self.gws[owner].stop(sig=signal.SIGKILL)
        self.append('while down')
        for name, c in clients.items():
            self.assertTrue(c.wait_closed(5), '%s: stream not ended by the kill' % name)
        outcome, reconnect_s = {}, {}
        for name, c in clients.items():
            time.sleep(max(0.0, c.retry_ms / 1000.0 - (time.monotonic() - t_kill)))
            c.open()    # through nginx, with Last-Event-ID
            reconnect_s[name] = time.monotonic() - t_kill
            self.assertLessEqual(reconnect_s[name], c.retry_ms / 1000.0 + 3.0, name)
        for name, c in clients.items():
            want = ('state', 'resync') if name == 'jmap' else ('changed', 'resync')
            ev = c.wait_for(want, 8)
            self.assertIsNotNone(ev, '%s: neither the missed events nor resync' % name)
            outcome[name] = ev['event']
        survivor = self.gws[1 - owner]
        text = self.scrape(survivor)
        self.assertEqual(metric(text, 'jmapgate_push_streams'), 3)
        self.assertEqual(metric(text, 'jmapgate_upstream_open_connections', {'kind': 'watcher'}), 1)

        # 4. Catch up with the delta API (through nginx, any instance): view == IMAP.
        self.append('after failover')
        st, _, d = self.req('GET', '/api/v1/mailboxes/INBOX/changes?cursor=' +
                            urllib.parse.quote(cursor),
                            headers={'Authorization': 'Bearer ' + tok2})
        self.assertEqual(st, 200, d)
        self.assertFalse(d['resync'], d)
        self.assertFalse(d['hasMore'], d)
        view |= {m['uid'] for m in d['added']}
        view -= set(d['removed'])
        self.assertEqual(sorted(view), self.imap_uids())
        self.assertEqual(len(view), 6)
        # The API keeps working through nginx with one instance gone.
        for _ in range(4):
            st, _, _ = self.req('GET', '/api/v1/mailboxes',
                                headers={'Authorization': 'Bearer ' + tok1})
            self.assertEqual(st, 200)
        print('\n  owner=%d; reconnects after kill: %s s; resumed with: %s; total %.1f s'
              % (owner, {k: round(v, 2) for k, v in reconnect_s.items()}, outcome,
                 time.monotonic() - self.t0))
        with open(os.path.join(self.ng.dir, 'access.log')) as f:
            self.assertNotIn('access_token', f.read())


if __name__ == '__main__':
    unittest.main()
