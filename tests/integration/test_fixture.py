"""Checks of the test fixture itself (tests/support/fixture.py) against a real Dovecot."""

import http.server
import imaplib
import os
import re
import socket
import ssl
import stat
import threading
import time
import unittest

import fixture
from fixture import Dovecot, FixtureError, Gateway, wait_for




class IMAP4_SSL_localhost(imaplib.IMAP4_SSL):
    """imaps to 127.0.0.1, certificate checked for the name 'localhost'
    (works even where /etc/hosts has no localhost, e.g. a bare chroot)."""

    def _create_socket(self, timeout):
        sock = socket.create_connection(('127.0.0.1', self.port), timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname='localhost')


def status(m, box):
    typ, data = m.status(box, '(MESSAGES UNSEEN UIDNEXT)')
    assert typ == 'OK', data
    return {k.decode(): int(v) for k, v in re.findall(rb'(MESSAGES|UNSEEN|UIDNEXT) (\d+)', data[0])}


def count_search(m, box, criterion):
    typ, _ = m.select(box, readonly=True)
    assert typ == 'OK'
    typ, data = m.search(None, criterion)
    assert typ == 'OK', data
    return len(data[0].split())


class TestDovecot(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dc = Dovecot(users={'alice': 'alicepass', 'bob': 'bobpass'})
        try:
            cls.dc.start()
            # Seeded while Dovecot runs: it must notice files added behind its back.
            cls.seeded = cls.dc.seed_corpus('alice', {'INBOX': 30, 'Archive': 5})
        except BaseException:
            cls.dc.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dc.close()

    def test_attributes(self):
        dc = self.dc
        self.assertTrue(dc.running)
        self.assertEqual(dc.host, '127.0.0.1')
        self.assertEqual(dc.url, 'imap://127.0.0.1:%d' % dc.port)
        self.assertEqual(dc.plain_port, dc.port)
        self.assertIsNone(dc.starttls_port)
        self.assertIsNone(dc.cert_file)
        self.assertTrue(os.path.isdir(dc.dir))

    def test_seed_counts_match_imap(self):
        self.assertEqual(self.seeded['INBOX'], {'count': 30, 'flagged': 4, 'seen': 10})
        self.assertEqual(self.seeded['Archive'], {'count': 5, 'flagged': 0, 'seen': 1})
        m = self.dc.imap('bob', 'bobpass')   # bob's mail is empty; alice's below
        m.logout()
        m = self.dc.imap('alice', 'alicepass')
        try:
            for box in ('INBOX', 'Archive'):
                want = self.seeded[box]
                st = status(m, box)
                self.assertEqual(st['MESSAGES'], want['count'], box)
                self.assertEqual(st['UNSEEN'], want['count'] - want['seen'], box)
                self.assertEqual(count_search(m, box, 'FLAGGED'), want['flagged'], box)
                self.assertEqual(count_search(m, box, 'SEEN'), want['seen'], box)
            # Real messages, From line stripped: every one has headers and a Subject.
            m.select('INBOX', readonly=True)
            typ, data = m.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)] RFC822.SIZE)')
            self.assertEqual(typ, 'OK')
            hdrs = [d[1] for d in data if isinstance(d, tuple)]
            self.assertEqual(len(hdrs), 30)
            self.assertTrue(all(h.lower().startswith(b'subject:') for h in hdrs), hdrs[:3])
        finally:
            m.logout()

    def test_seed_file_names_and_owner(self):
        cur = os.path.join(self.dc.maildir('alice', 'Archive'), 'cur')
        names = os.listdir(cur)
        self.assertEqual(len(names), 5)
        for n in names:
            mm = re.fullmatch(r'(\d+)\.M\d+P\d+\.[^,/]+,S=(\d+):2,(F?S?)', n)
            self.assertIsNotNone(mm, n)
            st = os.stat(os.path.join(cur, n))
            self.assertEqual(int(mm.group(2)), st.st_size)
            self.assertEqual(st.st_uid, self.dc.mail_uid)
            self.assertEqual(st.st_gid, self.dc.mail_gid)
            self.assertTrue(stat.S_ISREG(st.st_mode))
        if os.getuid() == 0:
            self.assertEqual(self.dc.mail_uid, 8)   # 'mail', as Dovecot's userdb says

    def test_connection_count(self):
        base = self.dc.connection_count('bob')
        m = self.dc.imap('bob', 'bobpass')
        try:
            self.assertEqual(wait_for(lambda: self.dc.connection_count('bob') == base + 1), True)
            m2 = self.dc.imap('bob', 'bobpass')
            self.assertTrue(wait_for(lambda: self.dc.connection_count('bob') == base + 2))
            m2.logout()
            self.assertTrue(wait_for(lambda: self.dc.connection_count('bob') == base + 1))
        finally:
            m.logout()
        self.assertTrue(wait_for(lambda: self.dc.connection_count('bob') == base),
                        'count stayed at %d' % self.dc.connection_count('bob'))

    def test_append_increasing_uids(self):
        uids = [self.dc.append('bob', 'bobpass', 'INBOX',
                               b'From: a@example.org\r\nSubject: n%d\r\n\r\nbody\r\n' % i,
                               flags='\\Seen' if i % 2 else '')
                for i in range(3)]
        self.assertEqual(uids, sorted(uids))
        self.assertEqual(len(set(uids)), 3)
        uid = self.dc.append('bob', 'bobpass', 'Some Folder', b'Subject: x\n\nlf only\n')
        self.assertEqual(uid, 1)

    def test_seed_seen_by_open_session(self):
        self.dc.add_user('dave', 'davepass')
        self.dc.seed_corpus('dave', {'INBOX': 2})
        m = self.dc.imap('dave', 'davepass')
        try:
            typ, data = m.select('INBOX')
            self.assertEqual(int(data[0]), 2)
            self.dc.seed_corpus('dave', {'INBOX': 3})

            def exists():
                m.noop()
                typ, data = m.response('EXISTS')
                return data and data[-1] and int(data[-1]) == 5
            self.assertTrue(wait_for(exists, timeout=5), 'open session did not see the new files')
            typ, data = m.uid('SEARCH', None, 'ALL')
            self.assertEqual(len(data[0].split()), 5)
        finally:
            m.logout()

    def test_add_user(self):
        self.dc.add_user('carol', 'carolpass')
        m = self.dc.imap('carol', 'carolpass')
        m.logout()
        with self.assertRaises(imaplib.IMAP4.error):
            self.dc.imap('carol', 'wrong')

    def test_zz_restart_keeps_mail(self):
        m = self.dc.imap('alice', 'alicepass')
        before = {b: status(m, b) for b in ('INBOX', 'Archive')}
        m.logout()
        port = self.dc.port
        t0 = time.monotonic()
        self.dc.restart()
        self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(self.dc.running)
        self.assertEqual(self.dc.port, port)
        m = self.dc.imap('alice', 'alicepass')
        try:
            after = {b: status(m, b) for b in ('INBOX', 'Archive')}
        finally:
            m.logout()
        self.assertEqual(before, after)
        # Seeding still works after the restart and Dovecot sees it.
        extra = self.dc.seed_corpus('alice', {'INBOX': 3})
        m = self.dc.imap('alice', 'alicepass')
        try:
            self.assertEqual(status(m, 'INBOX')['MESSAGES'], before['INBOX']['MESSAGES'] + 3)
        finally:
            m.logout()
        self.assertEqual(extra['INBOX']['count'], 3)


class TestDovecotTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dc = Dovecot(users={'alice': 'alicepass'}, tls=True, compress=True,
                         max_userip_connections=2)
        try:
            cls.seeded = cls.dc.seed_corpus('alice', {'INBOX': 10})   # before start
            cls.dc.start()
        except BaseException:
            cls.dc.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dc.close()

    def test_urls(self):
        dc = self.dc
        self.assertEqual(dc.url, 'imaps://localhost:%d' % dc.port)
        self.assertNotEqual(dc.plain_port, dc.port)
        self.assertEqual(dc.starttls_port, dc.plain_port)
        with open(dc.cert_file) as f:
            self.assertIn('BEGIN CERTIFICATE', f.read())

    def test_imaps_verified_with_cafile(self):
        ctx = ssl.create_default_context(cafile=self.dc.cert_file)
        m = IMAP4_SSL_localhost('localhost', self.dc.port, ssl_context=ctx, timeout=10)
        try:
            m.login('alice', 'alicepass')
            self.assertEqual(status(m, 'INBOX')['MESSAGES'], 10)
        finally:
            m.logout()

    def test_imaps_fails_without_cafile(self):
        ctx = ssl.create_default_context()
        with self.assertRaises(ssl.SSLCertVerificationError):
            IMAP4_SSL_localhost('localhost', self.dc.port, ssl_context=ctx, timeout=10)

    def test_imaps_host_names(self):
        ctx = ssl.create_default_context(cafile=self.dc.cert_file)
        for name, ok in (('localhost', True), ('127.0.0.1', True), ('mail.example.org', False)):
            with socket.create_connection(('127.0.0.1', self.dc.port), timeout=10) as raw:
                if ok:
                    with ctx.wrap_socket(raw, server_hostname=name) as s:
                        self.assertTrue(s.recv(100).startswith(b'* OK'), name)
                else:
                    with self.assertRaises(ssl.SSLCertVerificationError):
                        ctx.wrap_socket(raw, server_hostname=name)

    def test_starttls(self):
        ctx = ssl.create_default_context(cafile=self.dc.cert_file)
        m = imaplib.IMAP4('127.0.0.1', self.dc.starttls_port, timeout=10)
        try:
            self.assertIn('STARTTLS', m.capabilities)
            m.host = 'localhost'            # the name starttls() verifies
            m.starttls(ssl_context=ctx)
            m.login('alice', 'alicepass')
        finally:
            m.logout()

    def test_compress_offered(self):
        m = self.dc.imap('alice', 'alicepass')
        try:
            typ, data = m.capability()
            self.assertIn(b'COMPRESS=DEFLATE', data[0].split())
        finally:
            m.logout()

    def test_max_userip_connections(self):
        a = self.dc.imap('alice', 'alicepass')
        b = self.dc.imap('alice', 'alicepass')
        try:
            with self.assertRaises(imaplib.IMAP4.error):
                self.dc.imap('alice', 'alicepass').logout()
        finally:
            a.logout()
            b.logout()
        wait_for(lambda: self.dc.connection_count('alice') == 0)


class _SSEHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == '/deny':
            body = b'{"error":"auth"}'
            self.send_response(401)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        chunked = self.path == '/chunked'
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Transfer-Encoding' if chunked else 'Connection',
                         'chunked' if chunked else 'close')
        self.end_headers()

        def w(b):
            self.wfile.write(b'%x\r\n%s\r\n' % (len(b), b) if chunked else b)
            self.wfile.flush()
        w(b': hello\n\n')
        w(b'event: changed\nid: 1\nda')        # an event split across writes
        time.sleep(0.1)
        w(b'ta: {"a":1}\r\ndata: x\n\n')
        time.sleep(1.0)
        w(b'event: state\nid: 2\ndata: {}\n\n')
        if chunked:
            self.wfile.write(b'0\r\n\r\n')
        self.close_connection = True


class TestSSEStream(unittest.TestCase):
    """The fixture's SSE reader, against an in-process stub server."""

    @classmethod
    def setUpClass(cls):
        cls.srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _SSEHandler)
        cls.thread = threading.Thread(target=cls.srv.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()

    def check(self, path):
        with fixture.SSEStream('127.0.0.1', self.srv.server_address[1], path,
                               headers={'Cookie': 't=1'}) as s:
            self.assertEqual(s.status, 200)
            self.assertEqual(s.headers['content-type'], 'text/event-stream')
            self.assertEqual(s.events(2, timeout=5), [
                {'comment': 'hello'},
                {'event': 'changed', 'data': '{"a":1}\nx', 'id': '1', 'retry': None}])
            t0 = time.monotonic()
            self.assertEqual(s.events(1, timeout=0.3), [])      # nothing yet: times out
            self.assertLess(time.monotonic() - t0, 0.6)
            self.assertEqual(s.events(5, timeout=5),              # same stream keeps working
                             [{'event': 'state', 'data': '{}', 'id': '2', 'retry': None}])
            self.assertTrue(s.closed_by_server)

    def test_chunked(self):
        self.check('/chunked')

    def test_not_chunked(self):
        self.check('/plain')

    def test_error_status_has_body(self):
        with fixture.SSEStream('127.0.0.1', self.srv.server_address[1], '/deny') as s:
            self.assertEqual(s.status, 401)
            self.assertEqual(s.body, b'{"error":"auth"}')


class TestGatewayFailures(unittest.TestCase):
    """Gateway start-up errors carry the log tail (real behaviour is tested elsewhere)."""

    def test_missing_binary(self):
        gw = Gateway('imap://127.0.0.1:1', binary='/nonexistent/jmapgate')
        try:
            with self.assertRaisesRegex(FixtureError, 'not found'):
                gw.start()
        finally:
            gw.close()

    def test_exit_during_startup_shows_log(self):
        gw = Gateway('imap://127.0.0.1:1', binary='/bin/sh',
                     args=['-c', 'echo "level=error msg=\\"boom $JMAPGATE_LISTEN\\""; exit 3'])
        try:
            with self.assertRaises(FixtureError) as cm:
                gw.start()
            self.assertIn('exited with 3', str(cm.exception))
            self.assertIn('boom 127.0.0.1:', str(cm.exception))
        finally:
            gw.close()

    def test_free_port(self):
        p = fixture.free_port()
        self.assertTrue(1024 < p < 65536)


if __name__ == '__main__':
    unittest.main()
