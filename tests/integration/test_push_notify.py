"""Every folder live within the connection allowance, and one event costs
the upstream only the watcher's own commands (issue 10, items 3 and 4).

A JMAP EventSource watches every folder of the account. With NOTIFY
(push_mode auto on Dovecot) one connection hears all 21 folders; without it
(push_mode examine) folders beyond the IDLE budget are polled. The gateway
talks to Dovecot through LineProxy, which records what it sends."""
import random
import threading
import time
import unittest

from fixture import Gateway
from tcpproxy import TcpProxy, shut
from fixture import wait_for
from test_push import PushBase
from upstream import requires

FOLDERS = ['F%02d' % i for i in range(1, 21)]


class LineProxy(TcpProxy):
    """Records every client->server line as (time, connection number, line)
    and which connections are open."""

    def __init__(self, upstream_port):
        self.lock = threading.Lock()
        self.lines = []
        self.conns = {}       # id(client socket) -> connection number
        self.open_conns = set()
        super().__init__(upstream_port)

    def serve(self, client):
        with self.lock:
            self.conns[id(client)] = len(self.conns) + 1
            self.open_conns.add(self.conns[id(client)])
        super().serve(client)

    def pipe(self, src, dst, from_server):
        if from_server:
            try:
                super().pipe(src, dst, from_server)
            finally:
                src.close()
            return
        conn = self.conns.get(id(src))
        buf = b''
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                buf += data
                *done, buf = buf.split(b'\r\n')
                with self.lock:
                    now = time.monotonic()
                    self.lines += [(now, conn, ln.decode('utf-8', 'replace')) for ln in done]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.open_conns.discard(conn)
            shut(src, dst)
            src.close()

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def commands(self, since):
        """(connection, command) after index since; a command is its first
        word(s) without the tag: 'DONE', 'IDLE', 'STATUS INBOX', ..."""
        out = []
        for _, conn, ln in self.snapshot()[since:]:
            words = ln.split(' ')
            if words[0].upper() == 'DONE':
                out.append((conn, 'DONE'))
            elif len(words) >= 2:
                cmd = words[1].upper()
                if cmd in ('STATUS', 'SELECT', 'EXAMINE') and len(words) >= 3:
                    cmd += ' ' + words[2]
                out.append((conn, cmd))
        return out

    def push_connections(self):
        """Open connections that have sent IDLE or NOTIFY."""
        with self.lock:
            idlers = {c for _, c, ln in self.lines
                      if ' IDLE' in ln.upper() or ' NOTIFY ' in ln.upper()}
            return idlers & self.open_conns

    def wait_quiet(self, secs=0.5, timeout=10):
        """Until no client line for secs (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.snapshot()
            if not lines or time.monotonic() - lines[-1][0] >= secs:
                return True
            time.sleep(0.05)
        return False


class NotifyBase(PushBase):
    USERS = {'nora': 'norapass', 'otto': 'ottopass', 'pia': 'piapass', 'quin': 'quinpass'}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for user in cls.USERS:
            m = cls.dovecot.imap(user, cls.USERS[user])
            try:
                for box in FOLDERS:
                    m.create(box)
                    m.subscribe(box)
            finally:
                m.logout()

    def gateway(self, mode, proxy=None, **env):
        url = 'imap://127.0.0.1:%d' % proxy.port if proxy else self.dovecot.url
        e = dict(PushBase.GATEWAY_ENV, JMAPGATE_PUSH_MODE=mode)
        e.update(env)
        gw = Gateway(url, env=e)
        gw.start()
        self.addCleanup(gw.close)
        return gw

    def proxy(self):
        p = LineProxy(self.dovecot.plain_port)
        self.addCleanup(p.close)
        return p

    def eventsource(self, gw, user):
        hdrs = {'Authorization': 'Bearer ' + gw.login(user, self.USERS[user])}
        s = gw.sse('/jmap/eventsource?types=*&closeafter=no&ping=0', headers=hdrs)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        return s

    def wait_state(self, s, timeout):
        t0 = time.monotonic()
        ev = self.next_event(s, 'state', timeout=timeout)
        return ev, time.monotonic() - t0


class NotifyTest(NotifyBase):
    @requires("NOTIFY")
    def test_twenty_folders_one_connection(self):
        user = 'nora'
        proxy = self.proxy()
        gw = self.gateway('auto', proxy)
        s = self.eventsource(gw, user)
        ok = wait_for(lambda: (gw.metric('jmapgate_push_live_folders') or 0) >= 21 + 5, 15)
        self.assertTrue(ok, 'live folders: %s' % gw.metric('jmapgate_push_live_folders'))
        self.assertEqual(gw.metric('jmapgate_push_polled_folders'), 0)
        s.events(50, 0.3)
        m = self.dovecot.imap(user, self.USERS[user])
        self.addCleanup(m.logout)
        delays = []
        for box in random.sample(FOLDERS, 5):
            s.events(50, 0.05)           # nothing pending from the previous folder
            t0 = time.monotonic()
            typ, _ = m.append(box, None, None, b'Subject: n\r\n\r\nbody\r\n')
            self.assertEqual(typ, 'OK')
            ev = self.next_event(s, 'state', timeout=3)
            delays.append(time.monotonic() - t0)
            self.assertIsNotNone(ev, 'no state event for %s' % box)
        print('NOTIFY: append -> JMAP state %s s' % ' '.join('%.3f' % d for d in delays))
        for d in delays:
            self.assertLess(d, 1.0, delays)
        self.assertLessEqual(gw.metric('jmapgate_push_idle_connections'), 1)
        push = proxy.push_connections()
        self.assertGreaterEqual(len(push), 1)
        self.assertLessEqual(len(push), 2, push)
        # and at Dovecot: the gateway's connections for nora (the imaplib
        # client above is one more) are the push one(s) plus the request pool
        pool = len(proxy.open_conns) - len(push)
        self.assertEqual(self.dovecot.connection_count(user), len(proxy.open_conns) + 1)
        self.assertLessEqual(pool, 2)

    @requires("IDLE")
    def test_polling_beyond_budget_without_notify(self):
        user = 'otto'
        # budget 4 - 1 request session = 3 IDLE folders, the rest polled every second
        gw = self.gateway('examine', JMAPGATE_ACCOUNT_BUDGET='4', JMAPGATE_POOL_PER_ACCOUNT='1',
                          JMAPGATE_PUSH_POLL_INTERVAL='1')
        s = self.eventsource(gw, user)

        def placed():
            live = gw.metric('jmapgate_push_live_folders') or 0
            polled = gw.metric('jmapgate_push_polled_folders') or 0
            return live >= 1 and live + polled >= 21 + 5  # and Archive, Drafts, Junk, Sent, Trash
        self.assertTrue(wait_for(placed, 15), 'folders not all watched: live %s polled %s '
                        'watchers %s' % (gw.metric('jmapgate_push_live_folders'),
                                         gw.metric('jmapgate_push_polled_folders'),
                                         gw.metric('jmapgate_push_watchers')))
        self.assertLessEqual(gw.metric('jmapgate_push_idle_connections'), 4)
        self.assertGreaterEqual(gw.metric('jmapgate_push_polled_folders'), 17)
        s.events(50, 1.5)
        m = self.dovecot.imap(user, self.USERS[user])
        self.addCleanup(m.logout)
        delays = []
        # the last folders in listing order: certainly beyond the IDLE budget
        for box in random.sample(FOLDERS[8:], 5):
            s.events(50, 0.05)
            t0 = time.monotonic()
            self.assertEqual(m.append(box, None, None, b'Subject: p\r\n\r\nbody\r\n')[0], 'OK')
            ev = self.next_event(s, 'state', timeout=5)
            delays.append(time.monotonic() - t0)
            self.assertIsNotNone(ev, 'no state event for polled %s' % box)
        print('polled: append -> JMAP state %s s' % ' '.join('%.3f' % d for d in delays))
        for d in delays:
            self.assertLess(d, 1 + 2.0, delays)


class CommandCountTest(NotifyBase):
    """One new message in INBOX with a JMAP EventSource open on a 21-folder
    account costs the upstream only the watcher's own commands."""

    def one_append(self, gw, proxy, user, s):
        self.assertTrue(proxy.wait_quiet(0.5), 'the gateway never went quiet')
        s.events(50, 0.1)
        mark = len(proxy.snapshot())
        self.dovecot.append(user, self.USERS[user], 'INBOX', b'Subject: c\r\n\r\nbody\r\n')
        self.assertIsNotNone(self.next_event(s, 'state', timeout=5), 'no state event')
        # the watcher's re-IDLE comes right after the publish
        self.assertTrue(wait_for(lambda: any(c == 'IDLE' for _, c in proxy.commands(mark)), 5))
        proxy.wait_quiet(0.5)
        return proxy.commands(mark)

    @requires("IDLE")
    def test_examine_done_status_idle(self):
        user = 'pia'
        proxy = self.proxy()
        # polls of the folders beyond the budget are not the event's cost:
        # one poll at the start, the next an hour later
        gw = self.gateway('examine', proxy, JMAPGATE_PUSH_POLL_INTERVAL='3600')
        s = self.eventsource(gw, user)

        def placed():
            live = gw.metric('jmapgate_push_live_folders') or 0
            polled = gw.metric('jmapgate_push_polled_folders') or 0
            return live >= 1 and live + polled >= 21 + 5  # and Archive, Drafts, Junk, Sent, Trash
        self.assertTrue(wait_for(placed, 15), 'folders not all watched')
        sent = self.one_append(gw, proxy, user, s)
        self.assertEqual(sorted(c for _, c in sent), ['DONE', 'IDLE', 'STATUS INBOX'], sent)
        self.assertEqual(len({conn for conn, _ in sent}), 1, sent)   # the INBOX watcher's

    @requires("NOTIFY")
    def test_notify_done_idle(self):
        user = 'quin'
        proxy = self.proxy()
        gw = self.gateway('auto', proxy)
        s = self.eventsource(gw, user)
        ok = wait_for(lambda: (gw.metric('jmapgate_push_live_folders') or 0) >= 21 + 5, 15)
        self.assertTrue(ok, 'live folders: %s' % gw.metric('jmapgate_push_live_folders'))
        sent = self.one_append(gw, proxy, user, s)
        self.assertEqual(sorted(c for _, c in sent), ['DONE', 'IDLE'], sent)
        self.assertEqual(len({conn for conn, _ in sent}), 1, sent)   # the notifier's


if __name__ == '__main__':
    unittest.main()
