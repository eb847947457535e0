"""Realtime push: /api/v1/events and /jmap/eventsource against a real Dovecot.

An independent IMAP client (the fixture's imaplib) changes the mail; the
gateway's IDLE watchers must notice and stream the change."""
import json
import os
import re
import socket
import threading
import time
import unittest

from fixture import StackTestCase, wait_for
from upstream import requires

MSG = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: push %d\r\n"
       b"Message-ID: <push-%d@example.org>\r\n\r\nbody\r\n")






class PushBase(StackTestCase):
    USERS = {'alice': 'alicepass', 'bob': 'bobpass', 'carol': 'carolpass',
             'dave': 'davepass', 'erin': 'erinpass', 'frank': 'frankpass',
             'gina': 'ginapass', 'hank': 'hankpass'}
    GATEWAY_ENV = {'JMAPGATE_WATCH_GRACE': '1', 'JMAPGATE_PUSH_BACKOFF_MAX': '2',
                   'JMAPGATE_LOG_LEVEL': 'info'}
    seq = 0

    def append(self, user, box='INBOX'):
        PushBase.seq += 1
        return self.dovecot.append(user, self.USERS[user], box, MSG % (self.seq, self.seq))

    def token(self, user):
        return self.gw.login(user, self.USERS[user])

    def open(self, user, path, headers=None, token=None):
        h = {'Authorization': 'Bearer ' + (token or self.token(user))}
        h.update(headers or {})
        s = self.gw.sse(path, headers=h)
        self.addCleanup(s.close)
        return s

    def wait_idle(self, n=1, timeout=10):
        ok = wait_for(lambda: (self.gw.metric('jmapgate_push_live_folders') or 0) >= n,
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


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class RestEventsTest(PushBase):
    def raw_idle(self, user):
        """A raw IMAP IDLE client (imaplib has no IDLE): returns (thread, result)
        where result['t'] is when it saw EXISTS."""
        sock = socket.create_connection((self.dovecot.host, self.dovecot.plain_port), timeout=10)
        self.addCleanup(sock.close)
        f = sock.makefile('rb')
        f.readline()
        for cmd in (b'a LOGIN %s %s' % (user.encode(), self.USERS[user].encode()),
                    b'b SELECT INBOX', b'c IDLE'):
            sock.sendall(cmd + b'\r\n')
            while True:
                line = f.readline()
                if line[:1] in (b'a', b'b', b'+'):
                    break
        result = {}

        def run():
            while True:
                line = f.readline()
                if not line or b'EXISTS' in line:
                    result['t'] = time.monotonic()
                    return
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, result

    def test_new_mail_within_2s(self):
        s = self.open('alice', '/api/v1/events?mailbox=INBOX')
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers['content-type'].startswith('text/event-stream'))
        self.assertEqual(s.headers.get('cache-control'), 'no-cache')
        self.assertEqual(s.headers.get('x-accel-buffering'), 'no')
        self.wait_idle()
        raw, res = self.raw_idle('alice')
        t0 = time.monotonic()
        self.append('alice')
        ev = self.next_event(s, timeout=5)
        took = time.monotonic() - t0
        raw.join(5)
        self.assertIsNotNone(ev, 'no changed event')
        self.assertLess(took, 2.0)
        data = json.loads(ev['data'])
        self.assertEqual(data['mailbox'], 'INBOX')
        self.assertEqual(data['reason'], 'new')
        self.assertGreaterEqual(data['exists'], 1)
        self.assertIsInstance(data['uidvalidity'], int)
        self.assertTrue(ev['id'].isdigit())
        print('push latency append->SSE event %.3f s; raw IMAP IDLE client %.3f s; '
              'gateway histogram sum/count %s/%s' % (
                  took, res.get('t', float('nan')) - t0,
                  self.gw.metric('jmapgate_push_latency_seconds_sum'),
                  self.gw.metric('jmapgate_push_latency_seconds_count')))

    def imap_box(self, user, box='INBOX'):
        m = self.dovecot.imap(user, self.USERS[user])
        self.addCleanup(lambda: (m.logout()))
        m.select(box)
        return m

    def test_flags_and_expunge(self):
        # Earlier tests' watchers outlive their streams by the grace period:
        # wait them out, so that wait_idle below sees carol's. Otherwise the
        # flag may change before her watcher's first STATUS, and without
        # CONDSTORE (bare profile) that STATUS cannot show it.
        wait_for(lambda: not self.gw.metric('jmapgate_push_live_folders'), 5)
        uid = self.append('carol')
        s = self.open('carol', '/api/v1/events?mailbox=INBOX')
        self.wait_idle()
        m = self.imap_box('carol')
        m.uid('STORE', str(uid), '+FLAGS', '(\\Flagged)')
        ev = self.next_event(s, timeout=5)
        self.assertIsNotNone(ev, 'no event for a flag change')
        self.assertEqual(json.loads(ev['data'])['reason'], 'flags')
        m.uid('STORE', str(uid), '+FLAGS', '(\\Deleted)')
        m.expunge()
        reasons = []
        deadline = time.monotonic() + 5
        while 'expunge' not in reasons and time.monotonic() < deadline:
            ev = self.next_event(s, timeout=deadline - time.monotonic())
            if ev:
                reasons.append(json.loads(ev['data'])['reason'])
        self.assertIn('expunge', reasons)
        self.assertEqual(json.loads(ev['data'])['exists'], 0)

    def test_deleted_folder_one_resync_then_back(self):
        self.append('gina', 'Doomed')
        s = self.open('gina', '/api/v1/events?mailbox=INBOX,Doomed')
        self.assertEqual(s.status, 200)
        self.wait_idle(2)
        m = self.dovecot.imap('gina', self.USERS['gina'])
        self.assertEqual(m.delete('Doomed')[0], 'OK')
        ev = self.next_event(s, timeout=10)
        self.assertIsNotNone(ev, 'nothing said about a deleted folder')
        data = json.loads(ev['data'])
        self.assertEqual((data['mailbox'], data['reason'], data['exists'], data['uidvalidity']),
                         ('Doomed', 'resync', 0, 0))
        # said once, although the watcher keeps retrying (backoff max 2 s here)
        ev = self.next_event(s, timeout=5)
        self.assertTrue(ev is None or json.loads(ev['data'])['mailbox'] != 'Doomed', ev)
        self.append('gina', 'Doomed')                  # it comes back: a new UIDVALIDITY
        ev = self.next_event(s, timeout=10)
        self.assertIsNotNone(ev, 'nothing said about the folder coming back')
        data = json.loads(ev['data'])
        self.assertEqual((data['mailbox'], data['reason']), ('Doomed', 'resync'))
        self.assertGreater(data['uidvalidity'], 0)
        self.assertEqual(data['exists'], 1)
        m.logout()

    def test_rest_streams_compute_no_jmap_states(self):
        # Neither a REST stream nor a JMAP EventSource lists folders per
        # event: the JMAP states come from the watchers' own snapshots (a
        # JMAP event once cost LIST + a STATUS per folder). Per-folder IDLE
        # here; the NOTIFY path is counted in test_push_notify.
        from fixture import Gateway
        for box in ('A', 'B', 'INBOX'):
            self.append('hank', box)
        env = dict(self.GATEWAY_ENV, JMAPGATE_LOG_LEVEL='debug', JMAPGATE_PUSH_MODE='examine')
        with Gateway(self.dovecot.url, env=env) as gw:
            hdrs = {'Authorization': 'Bearer ' + gw.login('hank', self.USERS['hank'])}

            def commands_for_one_event(stream, kind, idle):
                self.assertTrue(wait_for(
                    lambda: (gw.metric('jmapgate_push_idle_connections') or 0) >= idle, 10))
                stream.events(10, 1.0)            # whatever the stream said on opening
                mark = len(gw.log_text())
                self.append('hank')
                self.assertIsNotNone(self.next_event(stream, timeout=5, kind=kind))
                time.sleep(0.3)
                sent = []   # pipelined commands share one logged write (CRLF shown as spaces)
                for data in re.findall(r'msg="imap C"[^\n]*data="([^"]*)"', gw.log_text()[mark:]):
                    sent += re.findall(r'(?:^|  )\d+ ([A-Z]+ [^ "]*)', data)
                return sent

            rest = gw.sse('/api/v1/events?mailbox=INBOX', headers=hdrs)
            self.addCleanup(rest.close)
            sent = commands_for_one_event(rest, 'changed', 1)
            self.assertFalse([c for c in sent if c.startswith(('LIST', 'STATUS A', 'STATUS B'))],
                             sent)
            jmap = gw.sse('/jmap/eventsource?types=*&closeafter=no&ping=0', headers=hdrs)
            self.addCleanup(jmap.close)
            sent = commands_for_one_event(jmap, 'state', 3)
            self.assertFalse([c for c in sent if c.startswith(('LIST', 'LSUB', 'STATUS A',
                                                               'STATUS B'))], sent)
            self.assertIn('STATUS INBOX', sent)   # the control: the watcher's own STATUS

    def test_unknown_folder_404_and_auth_401(self):
        tok = self.token('alice')
        s = self.gw.sse('/api/v1/events?mailbox=NoSuchFolder',
                        headers={'Authorization': 'Bearer ' + tok})
        self.addCleanup(s.close)
        self.assertEqual(s.status, 404)
        self.assertIn('problem+json', s.headers.get('content-type', ''))
        for hdrs, path in (({}, '/api/v1/events'),
                           ({'Authorization': 'Bearer nope'}, '/api/v1/events'),
                           ({}, '/api/v1/events?access_token=' + tok[:-4] + 'AAAA'),
                           ({}, '/jmap/eventsource?types=*&closeafter=no&ping=0')):
            s = self.gw.sse(path, headers=hdrs)
            self.addCleanup(s.close)
            self.assertEqual(s.status, 401, path)
            self.assertFalse(s.headers.get('content-type', '').startswith('text/event-stream'))
        # expired beyond the skew: refused before streaming
        import jwtutil
        header, claims, _ = jwtutil.split(tok)
        claims['exp'] = int(time.time()) - 120
        bad = jwtutil.sign(header, claims, jwtutil.jwt_key(self.gw.secret))
        s = self.gw.sse('/api/v1/events?access_token=' + bad)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 401)
        # the query token is accepted on SSE routes
        s = self.gw.sse('/api/v1/events?access_token=' + tok)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)

    def test_stream_ends_when_token_expires(self):
        # a token is accepted until exp + 60 s of clock skew
        # (GW_TOKEN_SKEW_SECS); the stream lives exactly as long
        import jwtutil
        header, claims, _ = jwtutil.split(self.token('alice'))
        claims['exp'] = int(time.time()) + 2 - 60
        tok = jwtutil.sign(header, claims, jwtutil.jwt_key(self.gw.secret))
        s = self.gw.sse('/api/v1/events', headers={'Authorization': 'Bearer ' + tok})
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        t0 = time.monotonic()
        while not s.closed_by_server and time.monotonic() - t0 < 6:
            s.events(10, 0.5)
        self.assertTrue(s.closed_by_server, 'stream still open after the token expired')
        st, _, _ = self.gw.request('GET', '/api/v1/mailboxes',
                                   headers={'Authorization': 'Bearer ' + tok})
        self.assertEqual(st, 401)

    def test_streams_and_requests_agree_on_a_token(self):
        # a stream takes a token exactly when a plain request does: past exp
        # but within the skew both serve (an EventSource that reconnects is
        # told the login ended only when the page's next call would be:
        # no reconnect loop, no page stuck "reconnecting"); past the skew
        # both answer 401
        import jwtutil
        header, claims, _ = jwtutil.split(self.token('alice'))
        for age, status in ((5, 200), (61, 401)):
            claims['exp'] = int(time.time()) - age
            tok = jwtutil.sign(header, claims, jwtutil.jwt_key(self.gw.secret))
            auth = {'Authorization': 'Bearer ' + tok}
            st, _, _ = self.gw.request('GET', '/api/v1/mailboxes', headers=auth)
            self.assertEqual(st, status, age)
            for path in ('/api/v1/events?mailbox=INBOX', '/jmap/eventsource?types=*',
                         '/api/v1/events?mailbox=INBOX&access_token=' + tok):
                with self.subTest(age=age, path=path.split('&')[0]):
                    s = self.gw.sse(path, headers=None if 'access_token' in path else auth)
                    self.addCleanup(s.close)
                    self.assertEqual(s.status, status)

    @requires("DOVECOT")
    def test_shared_watcher_and_grace(self):
        tok = self.token('bob')
        st, _, _ = self.gw.request('GET', '/api/v1/mailboxes',
                                   headers={'Authorization': 'Bearer ' + tok})
        self.assertEqual(st, 200)
        pool = self.dovecot.connection_count('bob')  # bob's warm request sessions
        s1 = self.open('bob', '/api/v1/events?mailbox=INBOX', token=tok)
        s2 = self.open('bob', '/api/v1/events?mailbox=INBOX', token=tok)
        self.wait_idle()
        time.sleep(0.3)
        # bob's connections: the request pool's plus exactly one watcher
        self.assertEqual(self.dovecot.connection_count('bob'), pool + 1)
        self.append('bob')
        for s in (s1, s2):
            ev = self.next_event(s, timeout=5)
            self.assertIsNotNone(ev)
        hang0 = self.gw.metric('jmapgate_push_stream_hangups_total')
        s1.close()
        s2.close()
        ok = wait_for(lambda: self.gw.metric('jmapgate_push_streams') == 0, 3)
        self.assertTrue(ok, 'hang-ups not noticed')
        self.assertGreaterEqual(self.gw.metric('jmapgate_push_stream_hangups_total'), hang0 + 2)
        # grace is 1 s: the watcher and its connection go away soon after
        ok = wait_for(lambda: self.dovecot.connection_count('bob') == pool, 6, 0.2)
        self.assertTrue(ok, 'watcher connection still open after the grace')

    def test_last_event_id_replay_and_resync(self):
        keeper = self.open('dave', '/api/v1/events?mailbox=INBOX')
        s = self.open('dave', '/api/v1/events?mailbox=INBOX')
        self.wait_idle()
        self.append('dave')
        first = self.next_event(s)
        self.assertIsNotNone(first)
        self.assertIsNotNone(self.next_event(keeper))
        s.close()
        self.append('dave')
        missed = self.next_event(keeper)
        self.assertIsNotNone(missed)
        self.assertEqual(int(missed['id']), int(first['id']) + 1)
        s = self.open('dave', '/api/v1/events?mailbox=INBOX',
                      headers={'Last-Event-ID': first['id']})
        ev = self.next_event(s, timeout=2)
        self.assertIsNotNone(ev, 'missed event not replayed')
        self.assertEqual(ev['id'], missed['id'])
        self.assertEqual(ev['data'], missed['data'])
        # the same through the query argument
        s2 = self.open('dave', '/api/v1/events?mailbox=INBOX&lastEventId=' + first['id'])
        ev = self.next_event(s2, timeout=2)
        self.assertEqual(ev and ev['id'], missed['id'])
        # up to date: nothing replayed
        s3 = self.open('dave', '/api/v1/events', headers={'Last-Event-ID': missed['id']})
        self.assertIsNone(self.next_event(s3, timeout=1))
        # an id the ring does not cover: resync
        for old in ('1', 'garbage'):
            s4 = self.open('dave', '/api/v1/events', headers={'Last-Event-ID': old})
            ev = self.next_event(s4, 'resync', timeout=2)
            self.assertIsNotNone(ev, 'no resync for Last-Event-ID %s' % old)
            self.assertEqual(ev['id'], missed['id'])


    def test_utf8_folder_and_several_folders(self):
        import urllib.parse
        self.append('frank', 'Entw&APw-rfe')        # "Entwürfe", created on the wire
        path = '/api/v1/events?mailbox=' + urllib.parse.quote('INBOX,Entwürfe')
        s = self.open('frank', path)
        self.assertEqual(s.status, 200)
        self.wait_idle(2)
        self.append('frank', 'Entw&APw-rfe')
        ev = self.next_event(s, timeout=5)
        self.assertIsNotNone(ev)
        self.assertEqual(json.loads(ev['data'])['mailbox'], 'Entwürfe')
        self.append('frank', 'INBOX')
        ev = self.next_event(s, timeout=5)
        self.assertEqual(ev and json.loads(ev['data'])['mailbox'], 'INBOX')
        st, _, _ = self.gw.request('GET', '/api/v1/events?mailbox=' + ','.join(['a%d' % i for i in range(9)]),
                                   headers={'Authorization': 'Bearer ' + self.token('frank')})
        self.assertEqual(st, 400)


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class JmapEventSourceTest(PushBase):
    def test_state_change_types_ping_closeafter(self):
        from fixture import Gateway
        st, _, sess = self.gw.json('GET', '/jmap/session',
                                   headers={'Authorization': 'Bearer ' + self.token('erin')})
        self.assertEqual(st, 200)
        acct = sess['primaryAccounts']['urn:ietf:params:jmap:mail']
        a = self.open('erin', '/jmap/eventsource?types=*&closeafter=no&ping=1')
        b = self.open('erin', '/jmap/eventsource?types=Mailbox&closeafter=state&ping=0')
        self.assertEqual(a.status, 200)
        self.assertTrue(a.headers['content-type'].startswith('text/event-stream'))
        ping = self.next_event(a, 'ping', timeout=3)
        self.assertIsNotNone(ping)
        self.assertEqual(json.loads(ping['data']), {'interval': 1})
        self.wait_idle()
        self.append('erin')
        ev = self.next_event(a, 'state', timeout=5)
        self.assertIsNotNone(ev)
        doc = json.loads(ev['data'])
        self.assertEqual(doc['@type'], 'StateChange')
        self.assertIn('Email', doc['changed'][acct])
        self.assertIn('Mailbox', doc['changed'][acct])
        ev = self.next_event(b, 'state', timeout=5)
        self.assertEqual(set(json.loads(ev['data'])['changed'][acct]), {'Mailbox'})
        b.events(5, 1)
        self.assertTrue(b.closed_by_server, 'closeafter=state did not end the stream')
        self.assertFalse(a.closed_by_server)
        # Basic credentials are proved before streaming
        import base64
        for pw, want in (('wrong', 401), (self.USERS['erin'], 200)):
            basic = base64.b64encode(('erin:' + pw).encode()).decode()
            s = self.gw.sse('/jmap/eventsource?types=*&closeafter=no&ping=0',
                            headers={'Authorization': 'Basic ' + basic})
            self.addCleanup(s.close)
            self.assertEqual(s.status, want, pw)
            s = self.gw.sse('/api/v1/events', headers={'Authorization': 'Basic ' + basic})
            self.addCleanup(s.close)
            self.assertEqual(s.status, want, pw)
        st, _, _ = self.gw.request('GET', '/jmap/eventsource?ping=abc',
                                   headers={'Authorization': 'Bearer ' + self.token('erin')})
        self.assertEqual(st, 400)

    def jmap(self, user, *calls):
        body = {'using': ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
                'methodCalls': [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = self.gw.json('POST', '/jmap/api', body,
                                  headers={'Authorization': 'Bearer ' + self.token(user)})
        self.assertEqual(st, 200, out)
        return [r[1] for r in out['methodResponses']]

    @requires("CONDSTORE")
    def test_pushed_states_are_real_and_every_folder_is_watched(self):
        """The StateChange carries the strings Email/changes and Mailbox/get
        use, and mail arriving in a folder other than INBOX is pushed too."""
        st, _, sess = self.gw.json('GET', '/jmap/session',
                                   headers={'Authorization': 'Bearer ' + self.token('erin')})
        acct = sess['primaryAccounts']['urn:ietf:params:jmap:mail']
        s0 = self.jmap('erin', ['Email/get', {'accountId': acct, 'ids': []}])[0]['state']
        a = self.open('erin', '/jmap/eventsource?types=*&closeafter=no&ping=0')
        self.assertEqual(a.status, 200)
        self.wait_idle(4)  # INBOX, Archive, Drafts, Junk: the budget's IDLE share
        self.append('erin', 'Archive')
        ev = self.next_event(a, 'state', timeout=5)
        self.assertIsNotNone(ev, 'no push for a message in Archive')
        pushed = json.loads(ev['data'])['changed'][acct]
        ch, mb = self.jmap('erin', ['Email/changes', {'accountId': acct, 'sinceState': s0}],
                           ['Mailbox/get', {'accountId': acct, 'ids': []}])
        self.assertEqual(len(ch['created']), 1)
        self.assertEqual(pushed['Email'], ch['newState'])
        self.assertEqual(pushed['Thread'], ch['newState'])
        self.assertEqual(pushed['Mailbox'], mb['state'])
        ch2 = self.jmap('erin', ['Email/changes', {'accountId': acct,
                                                   'sinceState': pushed['Email']}])[0]
        self.assertEqual(ch2['created'], [])


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class UpstreamRestartTest(PushBase):
    USERS = {'alice': 'alicepass'}

    @requires("DOVECOT")
    def test_restart_mid_stream(self):
        s = self.open('alice', '/api/v1/events?mailbox=INBOX')
        self.wait_idle()
        rc0 = self.gw.metric('jmapgate_push_reconnects_total')
        self.dovecot.stop()
        # a message delivered while the server is down (straight into the maildir)
        md = self.dovecot.maildir('alice')
        for sub in ('cur', 'new', 'tmp'):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        name = '%d.M1P1.restart' % int(time.time())
        with open(os.path.join(md, 'new', name), 'wb') as f:
            f.write(MSG % (999, 999))
        if self.dovecot.root:
            for p in (md, os.path.join(md, 'new'), os.path.join(md, 'new', name)):
                os.chown(p, self.dovecot.mail_uid, self.dovecot.mail_gid)
        self.dovecot.start()
        ev = self.next_event(s, timeout=20)
        self.assertIsNotNone(ev, 'change made while the server was down not published')
        self.assertEqual(json.loads(ev['data'])['reason'], 'new')
        self.assertFalse(s.closed_by_server)
        self.assertGreater(self.gw.metric('jmapgate_push_reconnects_total'), rc0)
        # and the new connection works like the first one
        self.wait_idle()
        self.append('alice')
        self.assertIsNotNone(self.next_event(s, timeout=5))


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class PollFallbackTest(PushBase):
    """Budget used up by the request pool: the folder is polled with STATUS."""
    USERS = {'alice': 'alicepass'}
    # The per-folder IDLE path (servers without NOTIFY; NOTIFY needs one
    # connection per account whatever its folders): push_mode examine.
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_ACCOUNT_BUDGET='2',
                       JMAPGATE_POOL_PER_ACCOUNT='1', JMAPGATE_PUSH_POLL_INTERVAL='1',
                       JMAPGATE_PUSH_MODE='examine')

    def test_poll_when_budget_exhausted(self):
        # budget 2 - 1 for requests = 1 IDLE connection: the second folder is polled
        s = self.open('alice', '/api/v1/events?mailbox=INBOX,Archive')
        ok = wait_for(lambda: self.gw.metric('jmapgate_push_polled_folders') == 1, 5)
        self.assertTrue(ok, 'folder not polled')
        self.wait_idle(1)
        self.assertEqual(self.gw.metric('jmapgate_push_idle_connections'), 1)
        self.append('alice', 'Archive')
        ev = self.next_event(s, timeout=5)
        self.assertIsNotNone(ev)
        self.assertEqual(json.loads(ev['data'])['mailbox'], 'Archive')
        self.assertEqual(json.loads(ev['data'])['reason'], 'new')
        self.append('alice', 'INBOX')
        ev = self.next_event(s, timeout=5)
        self.assertEqual(ev and json.loads(ev['data'])['mailbox'], 'INBOX')
        # requests still get a session
        st, _, _ = self.gw.request('GET', '/api/v1/mailboxes',
                                   headers={'Authorization': 'Bearer ' + self.token('alice')})
        self.assertEqual(st, 200)


class NoIdleServerTest(PushBase):
    """A server that does not offer IDLE: the watcher polls with STATUS."""
    USERS = {'alice': 'alicepass'}
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_PUSH_POLL_INTERVAL='1',
                       JMAPGATE_PUSH_IDLE_RESTART='5')

    @classmethod
    def setUpClass(cls):
        from fixture import Dovecot, Gateway
        cls.dovecot = cls.gw = None
        try:
            cls.dovecot = Dovecot(users=cls.USERS)
            with open(cls.dovecot.conf_file, 'a') as f:
                f.write('imap_capability = IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID '
                        'ENABLE SORT NAMESPACE UIDPLUS CONDSTORE SPECIAL-USE\n')
            cls.dovecot.start()
            cls.gw = Gateway(cls.dovecot.url, env=cls.GATEWAY_ENV)
            cls.gw.start()
        except BaseException:
            cls._stop_stack()
            raise

    def test_polls_without_idle(self):
        s = self.open('alice', '/api/v1/events')
        ok = wait_for(lambda: self.gw.metric('jmapgate_push_polled_folders') == 1, 5)
        self.assertTrue(ok, 'folder not polled')
        self.assertEqual(self.gw.metric('jmapgate_push_idle_connections'), 0)
        self.append('alice')
        ev = self.next_event(s, timeout=5)
        self.assertEqual(ev and json.loads(ev['data'])['reason'], 'new')


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class ReIdleTest(PushBase):
    USERS = {'alice': 'alicepass'}
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_PUSH_IDLE_RESTART='5',
                       JMAPGATE_LOG_LEVEL='debug')

    def test_reidle_timer(self):
        s = self.open('alice', '/api/v1/events')
        self.wait_idle()
        time.sleep(6.5)                     # one IDLE restart: no event, still watching
        self.assertIsNone(self.next_event(s, timeout=0.5))
        self.assertGreaterEqual(len(re.findall(r'data="DONE', self.gw.log_text())), 1)
        self.append('alice')
        ev = self.next_event(s, timeout=5)
        self.assertEqual(ev and json.loads(ev['data'])['reason'], 'new')


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class FewWorkersTest(PushBase):
    """2 workers -> at most 1 watcher job at a time: watchers queue up behind
    each other (deferred by the reactor) and still all work."""
    USERS = {'alice': 'alicepass'}
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_WORKERS='2')

    def test_three_folders_one_job_slot(self):
        s = self.open('alice', '/api/v1/events?mailbox=INBOX,Archive,Sent')
        self.wait_idle(3)
        for box in ('Sent', 'INBOX', 'Archive'):
            self.append('alice', box)
        seen = set()
        deadline = time.monotonic() + 8
        while len(seen) < 3 and time.monotonic() < deadline:
            ev = self.next_event(s, timeout=deadline - time.monotonic())
            if ev:
                seen.add(json.loads(ev['data'])['mailbox'])
        self.assertEqual(seen, {'INBOX', 'Archive', 'Sent'})


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class OverflowTest(PushBase):
    """A Last-Event-ID replay larger than the 1 KiB queue turns into a resync
    (rather than a stream that breaks again on every retry); others are
    unaffected."""
    USERS = {'alice': 'alicepass'}
    GATEWAY_ENV = dict(PushBase.GATEWAY_ENV, JMAPGATE_PUSH_QUEUE='1024')

    def test_replay_overflow_drops_stream(self):
        keeper = self.open('alice', '/api/v1/events')
        self.wait_idle()
        ids = []
        for i in range(10):                    # ~140 bytes each: > 1 KiB in all
            self.append('alice')
            ev = self.next_event(keeper, timeout=5)
            self.assertIsNotNone(ev)
            ids.append(int(ev['id']))
        over0 = self.gw.metric('jmapgate_push_stream_overflows_total')
        s = self.open('alice', '/api/v1/events', headers={'Last-Event-ID': str(ids[0] - 1)})
        self.assertEqual(s.status, 200)
        ev = self.next_event(s, 'resync', timeout=3)
        self.assertIsNotNone(ev, 'no resync after an oversized replay')
        self.assertEqual(int(ev['id']), ids[-1])
        self.assertFalse(s.closed_by_server)
        self.assertEqual(self.gw.metric('jmapgate_push_stream_overflows_total'), over0 + 1)
        self.assertGreaterEqual(self.gw.metric('jmapgate_push_events_dropped_total'), 1)
        # a replay that fits is fine, and everyone still gets news
        s2 = self.open('alice', '/api/v1/events', headers={'Last-Event-ID': str(ids[-3])})
        self.assertEqual([int(e['id']) for e in s2.events(3, 3)
                          if e.get('event') == 'changed'], ids[-2:])
        self.append('alice')
        for st in (keeper, s, s2):
            self.assertIsNotNone(self.next_event(st, timeout=5))


@requires("IDLE")  # events within seconds; without IDLE a folder is polled every 60 s
class ScaleAndShutdownTest(PushBase):
    USERS = {'alice': 'alicepass'}
    N = 200

    def rss_kb(self):
        with open('/proc/%d/status' % self.gw.proc.pid) as f:
            return int(re.search(r'^VmRSS:\s+(\d+) kB', f.read(), re.M).group(1))

    def threads(self):
        with open('/proc/%d/status' % self.gw.proc.pid) as f:
            return int(re.search(r'^Threads:\s+(\d+)', f.read(), re.M).group(1))

    def test_200_clients_then_sigterm(self):
        tok = self.token('alice')
        s0 = self.open('alice', '/api/v1/events', token=tok)
        self.wait_idle()
        before = self.rss_kb()
        streams = []
        t0 = time.monotonic()
        for i in range(self.N):
            jmap = i % 2 == 1
            path = ('/jmap/eventsource?types=*&closeafter=no&ping=0&access_token=' + tok
                    if jmap else '/api/v1/events?access_token=' + tok)
            s = self.gw.sse(path)
            self.addCleanup(s.close)
            self.assertEqual(s.status, 200)
            streams.append((s, 'state' if jmap else 'changed'))
        opened = time.monotonic() - t0
        self.assertEqual(self.gw.metric('jmapgate_push_streams'), self.N + 1)
        # one watcher per folder, shared by all 200 streams: the REST streams
        # watch INBOX, the JMAP ones every selectable folder
        _, _, boxes = self.gw.json('GET', '/api/v1/mailboxes',
                                   headers={'Authorization': 'Bearer ' + tok})
        folders = len([m for m in boxes['mailboxes'] if m['selectable']])
        self.assertEqual(self.gw.metric('jmapgate_push_watchers'), folders)
        t1 = time.monotonic()
        self.append('alice')
        got = 0
        for s, kind in streams:
            left = max(0.1, t1 + 10 - time.monotonic())
            if self.next_event(s, kind, timeout=left) is not None:
                got += 1
        self.assertEqual(got, self.N)
        fanout = time.monotonic() - t1
        after = self.rss_kb()
        growth_mb = (after - before) / 1024.0
        print('%d SSE clients: opened in %.2f s, fan-out read in %.2f s, RSS %d -> %d kB '
              '(+%.1f MB), threads %s' % (self.N, opened, fanout, before, after, growth_mb,
                                          self.threads()))
        self.assertLess(growth_mb, 64)
        # SIGTERM: every stream ends cleanly, the process exits 0 quickly
        t2 = time.monotonic()
        code = self.gw.stop(timeout=10)
        took = time.monotonic() - t2
        self.assertEqual(code, 0)
        self.assertLess(took, 5)
        for s in [st for st, _ in streams[:20]] + [s0]:
            s.events(1000, 1)
            self.assertTrue(s.closed_by_server)
        print('SIGTERM with %d open streams: exit 0 in %.2f s' % (self.N + 1, took))
