"""Operations (issue 16) against a real Dovecot: connection limits per
client address before any work, --pid-file, dropping root after binding,
SIGHUP reload of the live settings, and the operator metrics."""
import os
import re
import resource
import select
import shutil
import signal
import socket
import tempfile
import time
import unittest

import jwtutil
from fixture import Dovecot, FixtureError, Gateway, StackTestCase, free_port


def metric(text, name, labels=None):
    """Value of one sample of the Prometheus text, or None."""
    lab = ''
    if labels:
        lab = '{' + ','.join('%s="%s"' % kv for kv in labels.items()) + '}'
    for line in text.splitlines():
        if line.startswith(name + lab + ' '):
            return float(line.split()[-1])
    return None


def scrape(gw):
    st, _, body = gw.request('GET', '/metrics')
    assert st == 200, st
    return body.decode()


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def http_get(sock, path='/healthz'):
    sock.sendall(('GET %s HTTP/1.1\r\nHost: x\r\n\r\n' % path).encode())


def read_head(sock, timeout):
    """Status and raw head of one answer, or None when closed / silent."""
    sock.settimeout(timeout)
    data = b''
    try:
        while b'\r\n\r\n' not in data:
            chunk = sock.recv(4096)
            if not chunk:
                return None, data
            data += chunk
    except (socket.timeout, ConnectionResetError):
        return None, data
    return int(data.split(b' ', 2)[1]), data


class ConnectionLimitTest(StackTestCase):
    USERS = {'alice': 'alicepass'}
    LIMIT = 50
    GATEWAY_ENV = {'JMAPGATE_MAX_CONNECTIONS_PER_IP': str(LIMIT)}
    FLOOD = 2000

    def test_flood_from_one_address(self):
        if raise_fd_limit(self.FLOOD + 200) < self.FLOOD + 100:
            self.skipTest('cannot raise the open-file limit to %d' % (self.FLOOD + 100))
        t0 = time.monotonic()
        socks = []
        try:
            for _ in range(self.FLOOD):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(('127.0.0.1', self.gw.port))
                socks.append(s)
            # Let the gateway accept (and close) what it will.
            time.sleep(1.5)
            closed, alive = [], []
            for s in socks:
                p = select.poll()
                p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
                if p.poll(0):
                    try:
                        gone = s.recv(1, socket.MSG_PEEK) == b''
                    except (ConnectionResetError, BlockingIOError, OSError):
                        gone = True
                else:
                    gone = False
                (closed if gone else alive).append(s)
            # Another address is not limited by this one's flood.
            other = socket.create_connection(('127.0.0.1', self.gw.port),
                                             source_address=('127.0.0.2', 0), timeout=5)
            http_get(other)
            st_other, _ = read_head(other, 5)
            other.close()
            statuses = {}
            for s in alive:
                s.setblocking(True)
                try:
                    http_get(s)
                except OSError:
                    statuses.setdefault(None, 0)
                    statuses[None] += 1
                    continue
            for s in alive:
                st, head = read_head(s, 5)
                statuses[st] = statuses.get(st, 0) + 1
                if st == 503:
                    self.assertIn(b'Retry-After: 1', head)
        finally:
            for s in socks:
                s.close()
        took = time.monotonic() - t0
        self.assertEqual(st_other, 200, 'another address must be served during the flood')
        ok, over = statuses.get(200, 0), statuses.get(503, 0)
        print('\n  flood of %d: %d closed at accept, %d served, %d got 503, other %s; %.1f s'
              % (self.FLOOD, len(closed), ok, over, statuses, took))
        self.assertLessEqual(ok, self.LIMIT)
        self.assertGreater(ok, 0)
        self.assertGreater(over, 0)
        self.assertLessEqual(ok + over, 2 * self.LIMIT + 5)
        self.assertGreaterEqual(len(closed), self.FLOOD - 2 * self.LIMIT - 5)
        # All closed: the address is welcome again; the refusals are counted.
        deadline = time.monotonic() + 10
        while True:
            text = scrape(self.gw)
            if metric(text, 'jmapgate_http_connections') <= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertLessEqual(metric(text, 'jmapgate_http_connections'), 2)
        self.assertGreater(metric(text, 'jmapgate_http_connections_refused_total',
                                  {'reason': 'per_ip', 'action': 'closed'}), 1000)
        self.assertGreaterEqual(metric(text, 'jmapgate_http_connections_refused_total',
                                       {'reason': 'per_ip', 'action': '503'}), over)


class TrustedProxyExemptTest(StackTestCase):
    """Connections from a trusted proxy count only against max_connections."""
    USERS = {'alice': 'alicepass'}
    GATEWAY_ENV = {'JMAPGATE_MAX_CONNECTIONS_PER_IP': '2',
                   'JMAPGATE_TRUSTED_PROXIES': '127.0.0.1'}

    def test_proxy_not_limited(self):
        socks = [socket.create_connection(('127.0.0.1', self.gw.port), timeout=5)
                 for _ in range(10)]
        try:
            for s in socks:
                http_get(s)
            self.assertEqual([read_head(s, 5)[0] for s in socks], [200] * 10)
        finally:
            for s in socks:
                s.close()
        socks = [socket.create_connection(('127.0.0.1', self.gw.port), timeout=5,
                                          source_address=('127.0.0.3', 0)) for _ in range(3)]
        try:
            for s in socks:
                http_get(s)
            got = sorted(read_head(s, 5)[0] for s in socks)
            self.assertEqual(got, [200, 200, 503], 'an untrusted address is limited')
        finally:
            for s in socks:
                s.close()


class PidFileAndRootTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users={'alice': 'alicepass'})
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.close()

    def test_pid_file_option(self):
        d = tempfile.mkdtemp(prefix='jmapgate-pid-')
        path = os.path.join(d, 'jmapgate.pid')
        with Gateway(self.dovecot.url, args=['--pid-file', path]) as gw:
            with open(path) as f:
                self.assertEqual(f.read(), '%d\n' % gw.proc.pid)
            self.assertEqual(gw.stop(), 0)
        self.assertFalse(os.path.exists(path), 'removed at exit')
        os.rmdir(d)

    def test_refuses_root_without_user(self):
        if os.geteuid() != 0:
            self.skipTest('not root: the root checks need a root test run')
        gw = Gateway(self.dovecot.url, env={'JMAPGATE_ALLOW_ROOT': None})
        try:
            with self.assertRaises(FixtureError) as cm:
                gw.start(timeout=5)
            self.assertIn('refusing to run as root', str(cm.exception))
        finally:
            gw.close()

    def test_drops_to_nobody_after_binding(self):
        if os.geteuid() != 0:
            self.skipTest('not root: dropping privileges can only be tested as root')
        d = tempfile.mkdtemp(prefix='jmapgate-pid-')
        os.chmod(d, 0o777)
        path = os.path.join(d, 'run.pid')
        gw = Gateway(self.dovecot.url, env={'JMAPGATE_ALLOW_ROOT': None,
                                            'JMAPGATE_USER': 'nobody',
                                            'JMAPGATE_GROUP': 'nogroup',
                                            'JMAPGATE_PID_FILE': path})
        try:
            gw.start()
            with open('/proc/%d/status' % gw.proc.pid) as f:
                status = f.read()
            uids = re.search(r'^Uid:\s+(.*)$', status, re.M).group(1).split()
            gids = re.search(r'^Gid:\s+(.*)$', status, re.M).group(1).split()
            self.assertEqual(set(uids), {'65534'}, status)
            self.assertEqual(set(gids), {'65534'}, status)
            groups = re.search(r'^Groups:\s*(.*)$', status, re.M).group(1).split()
            self.assertNotIn('0', groups)
            # Serving as nobody, IMAP included.
            tok = gw.login('alice', 'alicepass')
            st, _, _ = gw.request('GET', '/api/v1/mailboxes',
                                  headers={'Authorization': 'Bearer ' + tok})
            self.assertEqual(st, 200)
            self.assertIn('switched to user nobody', gw.log_text())
            with open(path) as f:
                self.assertEqual(int(f.read()), gw.proc.pid)
            self.assertEqual(gw.stop(), 0)
            self.assertFalse(os.path.exists(path))
        finally:
            gw.close()
            os.rmdir(d)


class ReloadTest(unittest.TestCase):
    """SIGHUP re-reads the file: live settings change, an open connection
    stays, listen and secret are reported and kept."""

    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot(users={'alice': 'alicepass'})
        cls.dovecot.start()

    @classmethod
    def tearDownClass(cls):
        cls.dovecot.close()

    def write_conf(self, **kw):
        with open(self.conf, 'w') as f:
            for k, v in kw.items():
                f.write('%s = %s\n' % (k, v))

    def hup_and_wait(self, gw, what):
        n = gw.log_text().count(what)
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while gw.log_text().count(what) == n:
            self.assertLess(time.monotonic(), deadline, 'no "%s" in the log' % what)
            time.sleep(0.05)

    def test_sighup(self):
        d = tempfile.mkdtemp(prefix='jmapgate-reload-')
        self.conf = os.path.join(d, 'jmapgate.conf')
        port = free_port()
        secret = os.urandom(32).hex()
        webs = []
        for name in ('a', 'b'):
            w = os.path.join(d, 'web-' + name)
            os.mkdir(w)
            with open(os.path.join(w, 'index.html'), 'w') as f:
                f.write('<p>web %s</p>\n' % name)
            webs.append(w)
        base = dict(listen='127.0.0.1:%d' % port, secret=secret, log_level='info',
                    max_body='64k', web_root=webs[0])
        self.write_conf(**base)
        gw = Gateway(self.dovecot.url, args=['--config', self.conf],
                     env={'JMAPGATE_LOG_LEVEL': None, 'JMAPGATE_LISTEN': None,
                          'JMAPGATE_SECRET': None})
        try:
            gw.start(port=port)
            tok = gw.login('alice', 'alicepass')
            big = b'x' * (100 * 1024)
            st, _, _ = gw.request('POST', '/api/v1/auth/login', body=big)
            self.assertEqual(st, 413)
            # An SSE stream and a keep-alive connection opened before the reload.
            stream = gw.sse('/api/v1/events?mailbox=INBOX&ping=1',
                            headers={'Authorization': 'Bearer ' + tok})
            self.assertEqual(stream.status, 200)
            keep = socket.create_connection(('127.0.0.1', port), timeout=5)
            http_get(keep)
            self.assertEqual(read_head(keep, 5)[0], 200)
            keep.settimeout(0.3)
            try:
                keep.recv(65536)   # the rest of the body, if any
            except socket.timeout:
                pass
            self.assertNotIn('level=debug', gw.log_text().split('jmapgate')[-1])
            self.assertIn(b'web a', gw.request('GET', '/')[2])

            new_secret = os.urandom(32).hex()
            self.write_conf(listen='127.0.0.1:%d' % free_port(), secret=new_secret,
                            log_level='debug', max_body='1m', web_root=webs[1])
            t0 = time.monotonic()
            self.hup_and_wait(gw, 'configuration reloaded')
            print('\n  reload applied in %.0f ms' % ((time.monotonic() - t0) * 1000))
            log = gw.log_text()
            self.assertRegex(log, r'listen changed.*needs a restart.*setting="listen"')
            self.assertRegex(log, r'secret changed.*needs a restart.*setting="secret"')
            self.assertNotIn(new_secret, log)
            self.assertNotIn(secret, log)
            # Live: max_body and the log level.
            st, _, _ = gw.request('POST', '/api/v1/auth/login', body=big)
            self.assertNotEqual(st, 413)
            self.dovecot.add_user('bob', 'bobpass')
            gw.login('bob', 'bobpass')    # a new IMAP session logs at debug
            self.assertIn('level=debug', gw.log_text().split('configuration reloaded')[-1])
            self.assertIn(b'web b', gw.request('GET', '/')[2], 'web_root re-read')
            # Kept: the old token (old secret) still works, the old port serves.
            st, _, _ = gw.request('GET', '/api/v1/mailboxes',
                                  headers={'Authorization': 'Bearer ' + tok})
            self.assertEqual(st, 200)
            # Nothing was dropped.
            http_get(keep)
            self.assertEqual(read_head(keep, 5)[0], 200)
            keep.close()
            self.assertFalse(stream.closed_by_server)
            self.dovecot.append('alice', 'alicepass', 'INBOX',
                                b'Subject: after reload\r\n\r\nhi\r\n')
            evs = [e for e in stream.events(3, timeout=8) if e.get('event') == 'changed']
            self.assertTrue(evs, 'the SSE stream opened before the reload still delivers')
            stream.close()

            # A broken file changes nothing.
            self.write_conf(**dict(base, max_body='nonsense'))
            self.hup_and_wait(gw, 'reload refused')
            st, _, _ = gw.request('POST', '/api/v1/auth/login', body=big)
            self.assertNotEqual(st, 413, 'still the reloaded max_body')
            self.assertEqual(gw.request('GET', '/healthz')[0], 200)
        finally:
            gw.close()
            shutil.rmtree(d, ignore_errors=True)


class ReloadCaFileTest(unittest.TestCase):
    """tls_ca_file is live: new IMAP connections use the new file."""

    def test_sighup_tls_ca_file(self):
        dv = Dovecot(users={'alice': 'alicepass'}, tls=True)
        dv.start()
        self.addCleanup(dv.close)
        d = tempfile.mkdtemp(prefix='jmapgate-reload-')
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, 'jmapgate.conf')
        other = '/etc/ssl/certs/ca-certificates.crt'   # does not hold the test cert
        if not os.path.exists(other):
            self.skipTest('no system CA bundle')
        with open(conf, 'w') as f:
            f.write('tls_ca_file = %s\n' % other)
        gw = Gateway(dv.url, args=['--config', conf], env={'JMAPGATE_TLS_CA_FILE': None})
        self.addCleanup(gw.close)
        gw.start()
        st, _, _ = gw.request('POST', '/api/v1/auth/login',
                              body={'username': 'alice', 'password': 'alicepass'})
        self.assertNotEqual(st, 200, 'the upstream certificate must not verify yet')
        with open(conf, 'w') as f:
            f.write('tls_ca_file = %s\n' % dv.cert_file)
        n = gw.log_text().count('configuration reloaded')
        gw.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while gw.log_text().count('configuration reloaded') == n:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(gw.login('alice', 'alicepass')[:2], 'ey')


class MetricsTest(StackTestCase):
    USERS = {'alice': 'alicepass'}

    def test_operator_metrics_move(self):
        before = scrape(self.gw)
        for name in ('jmapgate_http_requests_total', 'jmapgate_http_request_duration_seconds',
                     'jmapgate_upstream_open_connections', 'jmapgate_push_watchers',
                     'jmapgate_push_streams', 'jmapgate_push_events_published_total',
                     'jmapgate_push_events_dropped_total', 'jmapgate_upstream_errors_total',
                     'jmapgate_auth_token_rejections_total',
                     'jmapgate_http_connections_refused_total'):
            self.assertIn('# TYPE ' + name, before)
        tok = self.gw.login('alice', 'alicepass')
        auth = {'Authorization': 'Bearer ' + tok}
        self.assertEqual(self.gw.request('GET', '/api/v1/mailboxes', headers=auth)[0], 200)
        # Rejections by reason: a bad signature and an expired token.
        h, p, _ = jwtutil.split(tok)
        bad = jwtutil.sign(h, p, b'k' * 32)
        p_exp = dict(p, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
        expired = jwtutil.sign(h, p_exp, jwtutil.jwt_key(self.gw.secret))
        for t in (bad, expired):
            st, _, _ = self.gw.request('GET', '/api/v1/mailboxes',
                                       headers={'Authorization': 'Bearer ' + t})
            self.assertEqual(st, 401)
        with self.gw.sse('/api/v1/events?mailbox=INBOX', headers=auth) as stream:
            deadline = time.monotonic() + 10
            while True:
                mid = scrape(self.gw)
                if metric(mid, 'jmapgate_upstream_open_connections', {'kind': 'watcher'}) or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.dovecot.append('alice', 'alicepass', 'INBOX', b'Subject: m\r\n\r\nx\r\n')
            got = []
            deadline = time.monotonic() + 8
            while not got and time.monotonic() < deadline:
                got = [e for e in stream.events(1, timeout=1) if e.get('event') == 'changed']
            during = scrape(self.gw)
        self.assertTrue(got, 'an event after the APPEND')
        self.assertEqual(metric(during, 'jmapgate_push_streams'), 1)
        self.assertGreaterEqual(metric(during, 'jmapgate_push_watchers'), 1)
        self.assertGreaterEqual(metric(during, 'jmapgate_upstream_open_connections',
                                       {'kind': 'watcher'}), 1)
        self.assertGreaterEqual(metric(during, 'jmapgate_upstream_open_connections',
                                       {'kind': 'pool'}), 1)
        self.assertGreater(metric(during, 'jmapgate_push_events_published_total'),
                           metric(before, 'jmapgate_push_events_published_total'))
        for reason in ('signature', 'expired'):
            self.assertEqual(metric(during, 'jmapgate_auth_token_rejections_total',
                                    {'reason': reason}),
                             metric(before, 'jmapgate_auth_token_rejections_total',
                                    {'reason': reason}) + 1, reason)
        self.assertGreater(metric(during, 'jmapgate_http_requests_total',
                                  {'route': 'mailboxes', 'status': '200'}) or 0, 0)
        self.assertRegex(during, r'jmapgate_http_request_duration_seconds_bucket\{route="[^"]+",'
                                 r'le="0\.005"\} \d+')

    def test_upstream_errors_by_kind(self):
        port = free_port()   # nothing listens there
        with Gateway('imap://127.0.0.1:%d' % port) as gw:
            before = metric(scrape(gw), 'jmapgate_upstream_errors_total', {'kind': 'unavailable'})
            st, _, _ = gw.request('POST', '/api/v1/auth/login',
                                  body={'username': 'alice', 'password': 'alicepass'})
            self.assertEqual(st, 503)
            after = metric(scrape(gw), 'jmapgate_upstream_errors_total', {'kind': 'unavailable'})
            self.assertEqual(after, before + 1)


if __name__ == '__main__':
    unittest.main()
