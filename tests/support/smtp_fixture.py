"""Sending mail in tests (issue 14): a real SMTP submission server
(aiosmtpd, tests/support/smtp_submission.py) that delivers into a Dovecot
through LMTP, a scripted fake SMTP server for the failures a real one will
not produce on demand, and a TestCase running Dovecot + SMTP + gateway.

    class TestSend(SendStackTestCase):
        def test_x(self):
            token = self.gw.login('alice', 'alicepass')

The real server needs /usr/bin/python3 with python3-aiosmtpd and Dovecot's
LMTP (dovecot-lmtpd); scripts/install-deps installs both.
"""
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import unittest

import fixture
from fixture import Dovecot, FixtureError, Gateway, free_port

SMTPD_PYTHON = '/usr/bin/python3'
DOMAIN = 'example.test'
HERE = os.path.dirname(os.path.abspath(__file__))


def make_cert(d, name='smtp'):
    """A self-signed CA-capable cert for localhost/127.0.0.1 in d: (cert, key)."""
    cert, key = os.path.join(d, name + '-cert.pem'), os.path.join(d, name + '-key.pem')
    r = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
                        '-days', '30', '-subj', '/CN=localhost',
                        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                        '-addext', 'basicConstraints=critical,CA:TRUE',
                        '-addext', 'keyUsage=critical,digitalSignature,keyCertSign',
                        '-addext', 'extendedKeyUsage=serverAuth'],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    if r.returncode != 0:
        raise FixtureError('openssl req failed:\n' + r.stdout.decode('utf-8', 'replace'))
    return cert, key


class SmtpServer:
    """aiosmtpd on 127.0.0.1:port (STARTTLS required, AUTH against users),
    delivering to dovecot (started with lmtp=True). url is the
    smtp+starttls:// URL for JMAPGATE_SMTP_URL, cert_file its CA."""

    def __init__(self, dovecot, users, domain=DOMAIN):
        if dovecot.lmtp_port is None:
            raise FixtureError('SmtpServer needs a Dovecot started with lmtp=True')
        self.dovecot = dovecot
        self.domain = domain
        self.dir = fixture._make_tmpdir('smtp')
        self.users_file = os.path.join(self.dir, 'users.json')
        self.spool = os.path.join(self.dir, 'spool')
        os.makedirs(self.spool)
        self.log_file = os.path.join(self.dir, 'smtp.log')
        self.cert_file, self.key_file = make_cert(self.dir)
        self.set_users(users)
        self.port = free_port()
        self.url = 'smtp+starttls://localhost:%d' % self.port
        self.proc = None

    def set_users(self, users):
        tmp = self.users_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(users, f)
        os.replace(tmp, self.users_file)

    def start(self, timeout=15.0):
        argv = [SMTPD_PYTHON, os.path.join(HERE, 'smtp_submission.py'), '--port', str(self.port),
                '--users', self.users_file, '--cert', self.cert_file, '--key', self.key_file,
                '--lmtp-port', str(self.dovecot.lmtp_port), '--domain', self.domain,
                '--spool', self.spool]
        self.proc = fixture._spawn(argv, 'smtp %d' % self.port, self.log_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise FixtureError('smtp server exited:\n' + fixture._tail(self.log_file))
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1) as s:
                    if s.recv(4).startswith(b'220'):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.close()
        raise FixtureError('smtp server did not start:\n' + fixture._tail(self.log_file))

    def spooled(self):
        """Messages accepted so far (bytes as received), oldest first."""
        return [open(os.path.join(self.spool, n), 'rb').read()
                for n in sorted(os.listdir(self.spool))]

    def close(self):
        if self.proc is not None:
            fixture._kill_proc(self.proc)
            fixture._unregister_proc(self.proc)
            self.proc = None
        fixture._remove_tmpdir(self.dir)


class FakeSmtp:
    """A scripted SMTP server on 127.0.0.1:port, one thread, for failures.

    script: dict of overrides, e.g. {'AUTH': '535 5.7.8 bad credentials'},
    {'RCPT:carol@example.test': '550 5.1.1 no such user'}, {'DATA_END': '552
    5.3.4 too big'}, {'MAIL': 'hang'}, starttls=False (no STARTTLS offered),
    size=N (announce SIZE N). Without STARTTLS use an smtp:// URL, with it
    the server upgrades with its own cert (cert_file)."""

    def __init__(self, script=None, starttls=True, size=0):
        self.script = dict(script or {})
        self.starttls = starttls
        self.size = size
        self.dir = fixture._make_tmpdir('fakesmtp')
        self.cert_file, self.key_file = make_cert(self.dir, 'fake')
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.commands = []       # every command line received (AUTH data redacted)
        self.messages = []
        self._stop = threading.Event()
        self._hung = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, scheme='smtp+starttls'):
        return '%s://localhost:%d' % (scheme, self.port)

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _reply(self, f, key, default):
        r = self.script.get(key, default)
        if r == 'hang':
            ev = threading.Event()
            self._hung.append(ev)
            ev.wait(60)
            return False
        f.write((r + '\r\n').encode())
        f.flush()
        return True

    def _session(self, conn):
        conn.settimeout(30)
        f = conn.makefile('rwb')
        try:
            self._talk(conn, f)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                f.close()
                conn.close()
            except OSError:
                pass

    def _ehlo(self, tls):
        lines = ['250-fake.test']
        if self.starttls and not tls:
            lines.append('250-STARTTLS')
        if self.size:
            lines.append('250-SIZE %d' % self.size)
        lines.append('250-8BITMIME')
        lines.append('250 AUTH PLAIN LOGIN')
        return '\r\n'.join(lines)

    def _talk(self, conn, f):
        tls = False
        f.write(b'220 fake.test ESMTP\r\n')
        f.flush()
        while True:
            line = f.readline()
            if not line:
                return
            text = line.decode('utf-8', 'replace').rstrip('\r\n')
            verb = text.split(' ', 1)[0].upper()
            self.commands.append('AUTH ...' if verb == 'AUTH' else text)
            if verb == 'EHLO':
                f.write((self._ehlo(tls) + '\r\n').encode())
                f.flush()
            elif verb == 'STARTTLS' and self.starttls and not tls:
                f.write(b'220 go ahead\r\n')
                f.flush()
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(self.cert_file, self.key_file)
                conn = ctx.wrap_socket(conn, server_side=True)
                f = conn.makefile('rwb')
                tls = True
            elif verb == 'AUTH':
                if not self._reply(f, 'AUTH', '235 2.7.0 ok'):
                    return
            elif verb == 'MAIL':
                if not self._reply(f, 'MAIL', '250 ok'):
                    return
            elif verb == 'RCPT':
                addr = text[text.find('<') + 1:text.rfind('>')]
                if not self._reply(f, 'RCPT:' + addr, self.script.get('RCPT', '250 ok')):
                    return
            elif verb == 'DATA':
                if not self._reply(f, 'DATA', '354 go'):
                    return
                body = []
                while True:
                    l = f.readline()
                    if not l or l == b'.\r\n':
                        break
                    body.append(l)
                self.messages.append(b''.join(body))
                if not self._reply(f, 'DATA_END', '250 ok queued'):
                    return
            elif verb == 'RSET':
                f.write(b'250 ok\r\n')
                f.flush()
            elif verb == 'QUIT':
                f.write(b'221 bye\r\n')
                f.flush()
                return
            else:
                f.write(b'502 unknown\r\n')
                f.flush()

    def close(self):
        self._stop.set()
        for ev in self._hung:
            ev.set()
        self.sock.close()
        self.thread.join(5)
        fixture._remove_tmpdir(self.dir)


class SendStackTestCase(unittest.TestCase):
    """Dovecot (with LMTP), the real SMTP server and a gateway for the class:
    cls.dovecot, cls.smtp, cls.gw. Users are alice/bob (+ USERS) @DOMAIN."""

    USERS = {'alice': 'alicepass', 'bob': 'bobpass'}
    DOVECOT_KW = {}
    GATEWAY_ENV = {}
    dovecot = smtp = gw = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.dovecot = Dovecot(users=cls.USERS, lmtp=True, **cls.DOVECOT_KW)
            cls.dovecot.start()
            cls.smtp = SmtpServer(cls.dovecot, cls.USERS).start()
            env = {'JMAPGATE_SMTP_URL': cls.smtp.url, 'JMAPGATE_SMTP_TLS_CA_FILE': cls.smtp.cert_file,
                   'JMAPGATE_MAIL_DOMAIN': DOMAIN, 'JMAPGATE_SMTP_TIMEOUT': '5'}
            env.update(cls.GATEWAY_ENV)
            cls.gw = Gateway(cls.dovecot.url, env=env)
            cls.gw.start()
        except BaseException:
            cls._stop_all()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls._stop_all()
        finally:
            super().tearDownClass()

    @classmethod
    def _stop_all(cls):
        for name in ('gw', 'smtp', 'dovecot'):
            obj = getattr(cls, name, None)
            setattr(cls, name, None)
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    pass
