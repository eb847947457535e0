"""Test fixture: a throwaway Dovecot, the jmapgate binary, and a TestCase that
runs both (Python 3 standard library only).

    from fixture import Dovecot, Gateway, StackTestCase, free_port

    class TestMailboxes(StackTestCase):
        USERS = {'alice': 'alicepass'}
        DOVECOT_KW = {'compress': True}
        GATEWAY_ENV = {'JMAPGATE_TOKEN_TTL': '120'}

        def test_list(self):
            token = self.gw.login('alice', 'alicepass')
            st, hdrs, body = self.gw.json('GET', '/api/v1/mailboxes',
                                          headers={'Authorization': 'Bearer ' + token})

Every Dovecot runs in its own temp dir on its own loopback port, in the
foreground as our child. Nothing is left running: each child is registered,
killed by an atexit handler and on SIGTERM/SIGHUP, and also gets
PR_SET_PDEATHSIG so it dies with us even when we are SIGKILLed (ctest sends
SIGKILL on a test timeout). Temp dirs are removed unless JMAPGATE_KEEP_TMP=1;
dirs left by a SIGKILLed run are swept at the next import.

Children die with the thread that started them (PR_SET_PDEATHSIG is per
thread): start fixtures from the main thread, or from a thread that lives as
long as they should.

Environment: JMAPGATE_BIN (gateway binary; default <repo>/build/jmapgate),
JMAPGATE_KEEP_TMP=1 (keep temp dirs and logs), JMAPGATE_CORPUS (corpus dir).
"""

import atexit
import contextlib
import ctypes
import email.utils
import http.client
import imaplib
import json as _json
import os
import pwd
import grp
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

__all__ = ['free_port', 'Dovecot', 'Gateway', 'StackTestCase', 'corpus_files', 'SSEStream',
           'FixtureError', 'REPO_ROOT', 'make_upstream']

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS_DIR = os.environ.get(
    'JMAPGATE_CORPUS',
    '/usr/share/gocode/src/github.com/gatherstars-com/jwz/test/testdata/ham')
DOVECOT_BIN = '/usr/sbin/dovecot'
DOVEADM_BIN = '/usr/bin/doveadm'
TMP_PREFIX = 'jmapgate-fx-'
OWNER_FILE = '.fixture-owner'


class FixtureError(RuntimeError):
    """A fixture process failed to start or stop; the message has the log tail."""


class _PortTaken(Exception):
    pass


# ---------------------------------------------------------------------------
# Registry of everything we started, torn down at exit / SIGTERM.

_lock = threading.RLock()
_procs = {}      # pid -> (Popen, description)
_tmpdirs = set()


def _keep_tmp():
    return os.environ.get('JMAPGATE_KEEP_TMP', '') not in ('', '0', 'false', 'no')


def _register_proc(proc, what):
    with _lock:
        _procs[proc.pid] = (proc, what)


def _unregister_proc(proc):
    with _lock:
        _procs.pop(proc.pid, None)


def _kill_proc(proc, sig=signal.SIGTERM, timeout=5.0):
    """Signal proc, wait up to timeout, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    return proc.returncode


def _make_tmpdir(kind):
    d = tempfile.mkdtemp(prefix=TMP_PREFIX + kind + '-')
    with open(os.path.join(d, OWNER_FILE), 'w') as f:
        f.write(str(os.getpid()))
    with _lock:
        _tmpdirs.add(d)
    return d


def _remove_tmpdir(d):
    with _lock:
        _tmpdirs.discard(d)
    if _keep_tmp():
        sys.stderr.write('fixture: kept %s (JMAPGATE_KEEP_TMP)\n' % d)
        return
    shutil.rmtree(d, ignore_errors=True)


def cleanup_all():
    """Stop every process the fixture started and remove its temp dirs."""
    with _lock:
        procs = list(_procs.values())
        _procs.clear()
    # TERM everything first, then wait: Dovecot needs 1-2.5 s to stop.
    for proc, _ in procs:
        if proc.poll() is None:
            try:
                proc.terminate()
            except ProcessLookupError:
                pass
    for proc, _ in procs:
        _kill_proc(proc, signal.SIGTERM, timeout=8.0)
    with _lock:
        dirs = list(_tmpdirs)
    for d in dirs:
        _remove_tmpdir(d)


def _on_signal(signum, frame):
    cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    atexit.register(cleanup_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for s in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(s) in (signal.SIG_DFL, None):
                signal.signal(s, _on_signal)
        except (ValueError, OSError):
            pass


def _sweep_stale_tmpdirs():
    """Remove temp dirs of earlier runs whose owner process is gone (SIGKILL)."""
    if _keep_tmp():
        return
    base = tempfile.gettempdir()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        if not name.startswith(TMP_PREFIX):
            continue
        d = os.path.join(base, name)
        try:
            with open(os.path.join(d, OWNER_FILE)) as f:
                pid = int(f.read().strip() or 0)
            if os.stat(d).st_uid != os.getuid():
                continue
        except (OSError, ValueError):
            continue
        if pid <= 0 or pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue                      # owner still alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        # A Dovecot of that run may still be alive if PDEATHSIG did not fire.
        _stop_stale_dovecot(d)
        shutil.rmtree(d, ignore_errors=True)


def _stop_stale_dovecot(d):
    try:
        with open(os.path.join(d, 'run', 'master.pid')) as f:
            pid = int(f.read().strip())
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            if d.encode() not in f.read():
                return
        os.kill(pid, signal.SIGTERM)
        _wait_until(lambda: not _pid_alive(pid), 5.0)
    except (OSError, ValueError):
        pass


_install_handlers()
_sweep_stale_tmpdirs()


def _pdeathsig_preexec():
    """Runs in the child before exec: die (SIGTERM) when the parent dies."""
    ppid = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != ppid:          # parent died before prctl took effect
        os._exit(1)


def _spawn(argv, what, logfile, env=None, cwd=None):
    log = open(logfile, 'ab')
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True, preexec_fn=_pdeathsig_preexec)
    finally:
        log.close()
    _register_proc(proc, what)
    return proc


# ---------------------------------------------------------------------------
# Small helpers.

def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _port_open(port, host='127.0.0.1'):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _imap_greets(port, tls=False):
    """True when an IMAP server greets ('* OK') on 127.0.0.1:port."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1.0) as sock:
            if tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                with ctx.wrap_socket(sock, server_hostname='localhost') as ts:
                    return ts.recv(64).startswith(b'* OK')
            return sock.recv(64).startswith(b'* OK')
    except (OSError, ssl.SSLError):
        return False


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def wait_for(pred, timeout=10.0, interval=0.05):
    """Call pred until it returns something true or timeout seconds pass;
    returns its last value (true, or the false one at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def close_all(*things):
    """close() each of things that is not None (a class's tearDown)."""
    for x in things:
        if x is not None:
            x.close()


def _wait_until(pred, timeout, interval=0.02):
    return bool(wait_for(pred, timeout, interval))


def _tail(path, lines=40):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return '(no log at %s)' % path
    text = data.decode('utf-8', 'replace').splitlines()
    return '\n'.join(text[-lines:]) or '(log %s is empty)' % path


def _imap_quote(name):
    if re.fullmatch(r'[A-Za-z0-9_./-]+', name):
        return name
    return '"' + name.replace('\\', '\\\\').replace('"', '\\"') + '"'


_corpus_cache = None


def corpus_files():
    """Sorted paths of the real corpus messages (2,403 SpamAssassin easy_ham)."""
    global _corpus_cache
    if _corpus_cache is None:
        try:
            names = sorted(n for n in os.listdir(CORPUS_DIR) if not n.startswith('.'))
        except OSError:
            raise FixtureError('corpus not found at %s: install golang-github-gatherstars-com-jwz-dev '
                               '(scripts/install-deps)' % CORPUS_DIR)
        _corpus_cache = [os.path.join(CORPUS_DIR, n) for n in names]
    return _corpus_cache


def read_corpus_message(path):
    """The message as bytes, without its leading mbox 'From ' line."""
    with open(path, 'rb') as f:
        raw = f.read()
    if raw.startswith(b'From '):
        nl = raw.find(b'\n')
        raw = raw[nl + 1:] if nl >= 0 else b''
    return raw


_ID_HEADERS = re.compile(rb'^(?:Message-ID|In-Reply-To|References):[^\n]*(?:\n[ \t][^\n]*)*',
                         re.M | re.I)
_ID_LOCAL = re.compile(rb'<([^<>@\s]+)@')


def _rewrite_ids(raw, suffix):
    """Append suffix to the local part of every id in Message-ID, In-Reply-To
    and References, so copies of the corpus keep their threads but get
    distinct Message-IDs."""
    end = raw.find(b'\n\n')
    head, body = (raw, b'') if end < 0 else (raw[:end], raw[end:])
    head = _ID_HEADERS.sub(lambda m: _ID_LOCAL.sub(lambda i: b'<' + i.group(1) + suffix + b'@',
                                                   m.group(0)), head)
    return head + body


def _message_time(raw, fallback):
    m = re.search(rb'^Date:[ \t]*(.+?)\r?$', raw[:16384], re.M | re.I)
    if m:
        try:
            dt = email.utils.parsedate_to_datetime(m.group(1).decode('latin-1').strip())
            if dt is not None:
                return int(dt.timestamp())
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return fallback


# ---------------------------------------------------------------------------
# Dovecot.

def imap_login(host, port, user, password, timeout=30):
    """An imaplib.IMAP4 on host:port logged in as user."""
    m = imaplib.IMAP4(host, port, timeout=timeout)
    try:
        m.login(user, password)
    except Exception:
        try:
            m.shutdown()
        except OSError:
            pass
        raise
    return m


def imap_append(m, mailbox, raw, flags=''):
    """APPEND raw (bytes) to mailbox over the logged-in m (the mailbox is
    created when the server says TRYCREATE), log out; returns the new UID
    (from APPENDUID)."""
    if isinstance(raw, str):
        raw = raw.encode('utf-8')
    if b'\r\n' not in raw:
        raw = raw.replace(b'\n', b'\r\n')
    try:
        box = _imap_quote(mailbox)
        fl = None
        if flags:
            fl = flags if flags.startswith('(') else '(%s)' % flags
        try:
            typ, data = m.append(box, fl, None, raw)
        except imaplib.IMAP4.error as e:
            if 'TRYCREATE' not in str(e):
                raise
            m.create(box)
            typ, data = m.append(box, fl, None, raw)
        if typ != 'OK':
            if data and b'TRYCREATE' in data[0]:
                m.create(box)
                typ, data = m.append(box, fl, None, raw)
        if typ != 'OK':
            raise FixtureError('APPEND to %s failed: %r' % (mailbox, data))
        text = b' '.join(d for d in data if isinstance(d, bytes))
        mm = re.search(rb'\[APPENDUID (\d+) (\d+)\]', text)
        if not mm:
            raise FixtureError('no APPENDUID in %r' % text)
        return int(mm.group(2))
    finally:
        try:
            m.logout()
        except Exception:
            pass


# What a server without the extensions looks like. Dovecot still executes
# most hidden commands when a client sends them anyway (see test_bare.py),
# so these profiles test that the gateway sends only what is advertised.
# The greeting must not name Dovecot: the gateway takes "Dovecot" in the
# greeting as the sign that X-GUID works (ib_session.c). imap_id_send is
# emptied so ID answers NIL, as many servers do. Pre- and post-login
# CAPABILITY both come from imap_capability.
_BARE_CAPS = 'IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE'
_BARE_CONF = ('login_greeting = IMAP server ready.\n'
              'imap_id_send =\n'
              'imap_capability = %s\n')
PROFILES = {
    'full': '',
    'bare': _BARE_CONF % (_BARE_CAPS + ' IDLE'),
    'bare-noidle': _BARE_CONF % _BARE_CAPS,
}


class Dovecot:
    """A throwaway Dovecot 2.3 on loopback, in its own temp dir.

    tls=False: one plain IMAP listener (port == plain_port).
    tls=True:  port is implicit TLS (imaps, url imaps://localhost:PORT), and
               plain_port == starttls_port is a plain listener offering STARTTLS.
    extra_conf: text appended to dovecot.conf (later settings win).
    profile: 'full' (Dovecot as installed), 'bare' (capabilities cut to
               RFC 3501 + IDLE, a greeting that does not name Dovecot, no
               ID answer) or 'bare-noidle' (bare without IDLE); see PROFILES.
    Users default to alice/alicepass and bob/bobpass.
    """

    host = '127.0.0.1'

    def __init__(self, users=None, tls=False, compress=False, max_userip_connections=10,
                 extra_conf='', lmtp=False, metadata=False, profile='full'):
        if profile not in PROFILES:
            raise ValueError('unknown Dovecot profile %r (have %s)' % (profile, ', '.join(PROFILES)))
        self.profile = profile
        if users is None:
            users = {'alice': 'alicepass', 'bob': 'bobpass'}
        self.users = dict(users)
        self.tls = bool(tls)
        self.compress = bool(compress)
        self.max_userip_connections = int(max_userip_connections)
        self.extra_conf = extra_conf
        # lmtp: an LMTP listener on 127.0.0.1:lmtp_port (mail delivery, issue 14);
        # metadata: RFC 5464 METADATA with a per-user attribute file.
        self.lmtp_port = free_port() if lmtp else None
        self.metadata = bool(metadata)
        self.dir = _make_tmpdir('dovecot')
        os.chmod(self.dir, 0o755)   # Dovecot's unprivileged processes must traverse it
        self.conf_file = os.path.join(self.dir, 'dovecot.conf')
        self.passwd_file = os.path.join(self.dir, 'passwd')
        self.log_file = os.path.join(self.dir, 'dovecot.log')
        self.out_file = os.path.join(self.dir, 'dovecot.out')
        self.mail_root = os.path.join(self.dir, 'mail')
        self.proc = None
        self._started_at = 0.0
        self._seq = 0
        self._corpus_next = 0
        self._closed = False
        self._ever_started = False
        self._pick_ports()
        self.root = os.getuid() == 0
        if self.root:
            pw = pwd.getpwnam('mail')
            self.mail_uid, self.mail_gid = pw.pw_uid, pw.pw_gid
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
        for sub in ('run', 'state'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.makedirs(self.mail_root, exist_ok=True)
        self._chown(self.mail_root)
        self.cert_file = self.key_file = None
        if self.tls:
            self._make_cert()
        self._write_passwd()
        self._write_conf()

    def _pick_ports(self):
        self.port = free_port()
        if self.tls:
            self.plain_port = free_port()
            while self.plain_port == self.port:
                self.plain_port = free_port()
            self.starttls_port = self.plain_port
            self.url = 'imaps://localhost:%d' % self.port
        else:
            self.plain_port = self.port
            self.starttls_port = None
            self.url = 'imap://127.0.0.1:%d' % self.port

    # -- context manager -------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return '<Dovecot %s dir=%s %s>' % (self.url, self.dir, 'running' if self.running else 'stopped')

    # -- setup -----------------------------------------------------------
    def _chown(self, path):
        if self.root:
            os.chown(path, self.mail_uid, self.mail_gid)

    def _make_cert(self):
        self.cert_file = os.path.join(self.dir, 'cert.pem')
        self.key_file = os.path.join(self.dir, 'key.pem')
        argv = ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                '-nodes', '-keyout', self.key_file, '-out', self.cert_file, '-days', '30',
                '-subj', '/CN=localhost',
                '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
                '-addext', 'basicConstraints=critical,CA:TRUE',
                '-addext', 'keyUsage=critical,digitalSignature,keyCertSign',
                '-addext', 'extendedKeyUsage=serverAuth']
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        if r.returncode != 0:
            raise FixtureError('openssl req failed:\n' + r.stdout.decode('utf-8', 'replace'))
        os.chmod(self.key_file, 0o600)
        os.chmod(self.cert_file, 0o644)

    def _write_passwd(self):
        lines = []
        for name, password in self.users.items():
            for v in (name, password):
                if any(c in v for c in ':\n\r\0'):
                    raise ValueError('user names and passwords may not contain : or newlines')
            lines.append('%s:{PLAIN}%s\n' % (name, password))
        tmp = self.passwd_file + '.tmp'
        with open(tmp, 'w') as f:
            f.writelines(lines)
        os.chmod(tmp, 0o644)    # read by the auth process (user dovecot when root)
        os.replace(tmp, self.passwd_file)

    def _write_conf(self):
        d = self.dir
        if self.root:
            users = ('default_internal_user = dovecot\ndefault_internal_group = dovecot\n'
                     'default_login_user = dovenull\nfirst_valid_uid = %d\nfirst_valid_gid = %d\n'
                     % (self.mail_uid, self.mail_gid))
            uid, gid = 'mail', 'mail'
            chroots = ''
            anvil_chroot = ''
        else:
            un = pwd.getpwuid(os.getuid()).pw_name
            gn = grp.getgrgid(os.getgid()).gr_name
            users = ('default_internal_user = %s\ndefault_internal_group = %s\n'
                     'default_login_user = %s\nfirst_valid_uid = %d\nfirst_valid_gid = %d\n'
                     % (un, gn, un, os.getuid(), os.getgid()))
            uid, gid = un, gn
            anvil_chroot = '  chroot =\n'
            chroots = 'service imap-login {\n  chroot =\n}\n'
        if self.tls:
            ssl_conf = ('ssl = yes\nssl_cert = <%s\nssl_key = <%s\n' % (self.cert_file, self.key_file))
            listeners = ('  inet_listener imap {\n    address = 127.0.0.1\n    port = %d\n  }\n'
                         '  inet_listener imaps {\n    address = 127.0.0.1\n    port = %d\n    ssl = yes\n  }\n'
                         % (self.plain_port, self.port))
        else:
            ssl_conf = 'ssl = no\n'
            listeners = ('  inet_listener imap {\n    address = 127.0.0.1\n    port = %d\n  }\n'
                         '  inet_listener imaps {\n    port = 0\n  }\n' % self.port)
        plugins = ''
        if self.compress:
            plugins = ('mail_plugins = $mail_plugins zlib\n'
                       'protocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}\n')
        if self.lmtp_port:
            plugins += ('service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n'
                        '    port = %d\n  }\n}\n' % self.lmtp_port)
        if self.metadata:
            plugins += ('protocol imap {\n  imap_metadata = yes\n}\n'
                        'mail_attribute_dict = file:%h/dovecot-attributes\n')
        specials = ''.join('  mailbox %s {\n    special_use = \\%s\n    auto = subscribe\n  }\n' % (m, m)
                           for m in ('Drafts', 'Sent', 'Trash', 'Junk', 'Archive'))
        conf = f"""# generated by tests/support/fixture.py
base_dir = {d}/run
state_dir = {d}/state
instance_name = jmapgate-dovecot-{self.port}
log_path = {d}/dovecot.log
protocols = imap{' lmtp' if self.lmtp_port else ''}
listen = 127.0.0.1
{ssl_conf}disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u/Maildir
mail_max_userip_connections = {self.max_userip_connections}
# Failed logins answer in ~0.5 s instead of 2 s, and repeated failures from
# 127.0.0.1 do not grow to 15 s (the anvil auth penalty is off, below): tests
# of wrong passwords stay fast. extra_conf can restore either.
auth_failure_delay = 0
verbose_proctitle = yes
# The gateway passes each user's address in IMAP ID (x-originating-ip);
# Dovecot believes it only from these networks.
login_trusted_networks = 127.0.0.0/8 ::1
{PROFILES[self.profile]}{users}{chroots}service anvil {{
{anvil_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{plugins}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd_file}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
{specials}}}
service imap-login {{
{listeners}}}
{self.extra_conf}
"""
        with open(self.conf_file, 'w') as f:
            f.write(conf)

    # -- lifecycle -------------------------------------------------------
    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        if self._closed:
            raise FixtureError('Dovecot %s was closed' % self.dir)
        if self.running:
            return self
        for attempt in range(3):
            try:
                return self._start_once(timeout)
            except _PortTaken:
                # Another process took our free_port() between the pick and
                # the bind: on the very first start only, take new ports.
                if self._ever_started or attempt == 2:
                    raise FixtureError('dovecot: port %d/%d already in use\n%s'
                                       % (self.port, self.plain_port, _tail(self.out_file)))
                self._pick_ports()
                self._write_conf()

    def _start_once(self, timeout):
        pidfile = os.path.join(self.dir, 'run', 'master.pid')
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        self.proc = _spawn([DOVECOT_BIN, '-F', '-c', self.conf_file], 'dovecot %s' % self.url,
                           self.out_file)
        ports = [self.port] + ([self.plain_port] if self.plain_port != self.port else [])
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                _unregister_proc(self.proc)
                self.proc = None
                if 'Address already in use' in _tail(self.out_file, 5):
                    with open(self.out_file, 'ab') as f:
                        f.write(b'--- fixture: port taken, retrying\n')
                    raise _PortTaken()
                raise FixtureError('dovecot exited with %s during start-up\n--- %s\n%s\n--- %s\n%s'
                                   % (code, self.out_file, _tail(self.out_file),
                                      self.log_file, _tail(self.log_file)))
            if (_imap_greets(self.port, self.tls)
                    and (self.plain_port == self.port or _imap_greets(self.plain_port))):
                self._started_at = time.monotonic()
                self._ever_started = True
                return self
            if time.monotonic() >= deadline:
                self.stop()
                raise FixtureError('dovecot did not listen on %s within %.0f s\n--- %s\n%s'
                                   % (ports, timeout, self.log_file, _tail(self.log_file)))
            time.sleep(0.02)

    def stop(self, timeout=10.0):
        """SIGTERM the master and wait until it (and its children) are gone."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            if proc.poll() is None:
                # A master SIGTERMed in its first few ms (children still
                # starting) takes 6 s to exit instead of ~1 s: let it settle.
                young = self._started_at + 0.1 - time.monotonic()
                if young > 0:
                    time.sleep(young)
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
                    raise FixtureError('dovecot did not stop within %.0f s (killed)\n%s'
                                       % (timeout, _tail(self.log_file)))
        finally:
            _unregister_proc(proc)
        # A master stopped with SIGTERM leaves its imap (and log/stats)
        # processes running, still serving their clients: end them too, so a
        # stopped Dovecot really is gone and nothing is left behind.
        self._kill_instance_children()
        # Make sure the ports are free before anyone (restart) reuses them.
        ports = {self.port, self.plain_port}
        _wait_until(lambda: not any(_port_open(p) for p in ports), 5.0)

    def _instance_pids(self):
        """The master (if running) and every process of this instance."""
        prefix = ('dovecot-jmapgate-dovecot-%d/' % self.port).encode()
        found = [self.proc.pid] if self.running else []
        for entry in os.listdir('/proc'):
            if not entry.isdigit() or int(entry) in found:
                continue
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as f:
                    if f.read().startswith(prefix):
                        found.append(int(entry))
            except OSError:
                pass
        return found

    def _kill_instance_children(self, timeout=5.0):
        def pids():
            return [p for p in self._instance_pids() if not self.running or p != self.proc.pid]

        for pid in pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        if not _wait_until(lambda: not pids(), timeout):
            for pid in pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    @contextlib.contextmanager
    def frozen(self):
        """SIGSTOP every process of this Dovecot for the with-block (the
        kernel still accepts TCP connections; nobody answers), SIGCONT after."""
        pids = self._instance_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield pids
        finally:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass

    def restart(self):
        """Stop and start again: same port, same mail, same users."""
        self.stop()
        return self.start()

    def close(self):
        """Stop and remove the temp dir (unless JMAPGATE_KEEP_TMP=1)."""
        try:
            self.stop()
        finally:
            if not self._closed:
                self._closed = True
                _remove_tmpdir(self.dir)

    def log_text(self):
        parts = []
        for p in (self.out_file, self.log_file):
            try:
                with open(p, 'rb') as f:
                    parts.append(f.read().decode('utf-8', 'replace'))
            except OSError:
                pass
        return ''.join(parts)

    # -- users and clients ----------------------------------------------
    def ssl_context(self):
        """An ssl.SSLContext that trusts this Dovecot's self-signed cert (tls=True)."""
        if not self.cert_file:
            raise FixtureError('Dovecot was not started with tls=True')
        return ssl.create_default_context(cafile=self.cert_file)

    def add_user(self, name, password):
        """Add (or change) a user. Dovecot re-reads the passwd-file when its
        mtime or size changed, but looks at most once per wall-clock second:
        while Dovecot runs this returns once the change is visible (<= 1 s)."""
        self.users[name] = password
        try:
            old = int(os.stat(self.passwd_file).st_mtime)
        except OSError:
            old = 0
        self._write_passwd()
        now = time.time()
        t = max(int(now), old + 1)        # a new mtime second, even within one second
        os.utime(self.passwd_file, (t, t))
        if self.running:           # Dovecot's next look is in the next second
            time.sleep(max(0.0, int(now) + 1 - time.time()) + 0.02)

    def imap(self, user, password, timeout=30):
        """An imaplib.IMAP4 logged in as user on the plain listener."""
        return imap_login(self.host, self.plain_port, user, password, timeout)

    def append(self, user, password, mailbox, raw, flags=''):
        """APPEND raw (bytes) to mailbox (created if needed); returns the new UID."""
        return imap_append(self.imap(user, password), mailbox, raw, flags)

    def connection_count(self, user):
        """How many IMAP connections user has right now (doveadm who)."""
        r = subprocess.run([DOVEADM_BIN, '-c', self.conf_file, 'who', '-1', user],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=15)
        if r.returncode != 0:
            raise FixtureError('doveadm who failed (%d): %s'
                               % (r.returncode, r.stderr.decode('utf-8', 'replace').strip()))
        n = 0
        for line in r.stdout.decode('utf-8', 'replace').splitlines():
            f = line.split()
            # username  proto  (pid)  ip ; header line starts with "username"
            if len(f) >= 2 and f[0] == user and f[1] == 'imap':
                n += 1
        return n

    # -- mail ------------------------------------------------------------
    def maildir(self, user, folder='INBOX'):
        base = os.path.join(self.mail_root, user, 'Maildir')
        if folder.upper() == 'INBOX':
            return base
        return os.path.join(base, '.' + folder.replace('/', '.'))

    def _ensure_maildir(self, user, folder):
        home = os.path.join(self.mail_root, user)
        base = os.path.join(home, 'Maildir')
        paths = [home, base] + [os.path.join(base, s) for s in ('cur', 'new', 'tmp')]
        md = self.maildir(user, folder)
        if md != base:
            paths += [md] + [os.path.join(md, s) for s in ('cur', 'new', 'tmp')]
        for p in paths:
            if not os.path.isdir(p):
                os.mkdir(p, 0o700)
                self._chown(p)
        if md != base:
            marker = os.path.join(md, 'maildirfolder')
            if not os.path.exists(marker):
                open(marker, 'w').close()
                self._chown(marker)
        return md

    def seed_corpus(self, user, counts, flagged_every=7, seen_every=3, unseen_last=0):
        """Write real corpus messages straight into user's Maildir.

        counts: {'INBOX': 200, 'Archive': 80, ...}. Successive calls (and
        folders) take successive corpus messages; past the 2,403rd, copies get
        a per-copy suffix on their Message-ID/In-Reply-To/References ids, so
        10k+ mailboxes keep distinct ids and intact threads. Works before Dovecot starts
        or while it runs (files appear in cur/ atomically). Within a folder the
        messages are ordered (and named, and dated: file mtime = Date header)
        oldest first, so UIDs follow dates. Message i (0-based, in that order)
        is \\Flagged when (i+1) % flagged_every == 0 and \\Seen when
        (i+1) % seen_every == 0; the newest unseen_last messages are never
        \\Seen. 0 disables a flag. Returns {folder: {'count', 'flagged', 'seen'}}.
        """
        files = corpus_files()
        host = socket.gethostname().replace('/', '_').replace(':', '_') or 'localhost'
        result = {}
        for folder, count in counts.items():
            md = self._ensure_maildir(user, folder)
            picked = []
            for _ in range(int(count)):
                lap, idx = divmod(self._corpus_next, len(files))
                self._corpus_next += 1
                raw = read_corpus_message(files[idx])
                if lap:
                    raw = _rewrite_ids(raw, b'.c%d' % lap)
                picked.append((_message_time(raw, 1000000000 + self._corpus_next), raw))
            picked.sort(key=lambda x: x[0])
            flagged = seen = 0
            for i, (t, raw) in enumerate(picked):
                fl = ''
                if flagged_every and (i + 1) % flagged_every == 0:
                    fl += 'F'
                    flagged += 1
                if seen_every and (i + 1) % seen_every == 0 and i < len(picked) - unseen_last:
                    fl += 'S'
                    seen += 1
                self._seq += 1
                t = max(t, 0)
                base = '%d.M%dP%d.%s,S=%d' % (t, self._seq, os.getpid(), host, len(raw))
                tmp = os.path.join(md, 'tmp', base)
                with open(tmp, 'wb') as f:
                    f.write(raw)
                os.chmod(tmp, 0o600)
                self._chown(tmp)
                os.utime(tmp, (t, t))
                os.rename(tmp, os.path.join(md, 'cur', base + ':2,' + ''.join(sorted(fl))))
            # A new file in cur/ bumps its mtime: that is what a running
            # Dovecot checks to notice new mail.
            result[folder] = {'count': len(picked), 'flagged': flagged, 'seen': seen}
        return result


# ---------------------------------------------------------------------------
# Gateway.

def _default_bin():
    b = os.environ.get('JMAPGATE_BIN')
    if b:
        return b
    return os.path.join(REPO_ROOT, 'build', 'jmapgate')


class Gateway:
    """The jmapgate binary on a free loopback port, logging to a temp file."""

    host = '127.0.0.1'

    def __init__(self, imap_url, env=None, secret=None, args=(), binary=None):
        self.imap_url = imap_url
        self.extra_env = dict(env or {})
        self.secret = secret or secrets.token_hex(32)
        self.args = list(args)
        self.binary = binary or _default_bin()
        self.dir = _make_tmpdir('gateway')
        self.log_file = os.path.join(self.dir, 'jmapgate.log')
        self.port = None
        self.base_url = None
        self.proc = None
        self._closed = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return '<Gateway %s %s>' % (self.base_url, 'running' if self.running else 'stopped')

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0, port=None):
        """Start on port (default: a free one; pass port=gw.port to restart
        on the same one) and wait for GET /healthz -> 200."""
        if self.running:
            return self
        if not os.access(self.binary, os.X_OK):
            raise FixtureError('gateway binary %s not found or not executable (build it: make build; '
                               'or set JMAPGATE_BIN)' % self.binary)
        for attempt in range(3):
            try:
                return self._start_once(timeout, port or free_port())
            except _PortTaken:
                if port or attempt == 2:
                    raise FixtureError('jmapgate: port %d already in use\n%s'
                                       % (self.port, _tail(self.log_file)))

    def _start_once(self, timeout, port):
        self.port = port
        self.base_url = 'http://%s:%d' % (self.host, self.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith('JMAPGATE_')}
        env.update({
            'JMAPGATE_LISTEN': '%s:%d' % (self.host, self.port),
            'JMAPGATE_IMAP_URL': self.imap_url,
            'JMAPGATE_SECRET': self.secret,
            'JMAPGATE_LOG_LEVEL': 'debug',
            # Started as root (this sandbox), the gateway refuses to run without
            # user= unless told to (issue 16).
            'JMAPGATE_ALLOW_ROOT': 'true' if os.geteuid() == 0 else 'false',
        })
        for k, v in self.extra_env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
        with open(self.log_file, 'ab') as f:
            log_start = f.tell()
            f.write(('--- fixture: starting %s on %s\n' % (self.binary, self.base_url)).encode())
        self.proc = _spawn([self.binary] + self.args, 'jmapgate %s' % self.base_url,
                           self.log_file, env=env, cwd=self.dir)
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                _unregister_proc(self.proc)
                with open(self.log_file, 'rb') as f:
                    f.seek(log_start)
                    if re.search(rb'Address already in use|in use or not permitted', f.read()):
                        raise _PortTaken()
                raise FixtureError('jmapgate exited with %s during start-up\n--- %s\n%s'
                                   % (code, self.log_file, _tail(self.log_file)))
            try:
                st, _, _ = self.request('GET', '/healthz', timeout=2)
                if st == 200:
                    return self
                last = 'status %d' % st
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            if time.monotonic() >= deadline:
                try:
                    self.stop(timeout=5)
                except FixtureError:
                    pass
                raise FixtureError('jmapgate did not answer GET /healthz with 200 within %.0f s '
                                   '(last: %s)\n--- %s\n%s'
                                   % (timeout, last, self.log_file, _tail(self.log_file)))
            time.sleep(0.05)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Send sig, wait up to timeout; returns the exit code (negative = signal).
        After the timeout: SIGKILL and raise FixtureError."""
        if self.proc is None:
            return None
        proc = self.proc
        try:
            if proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
                    raise FixtureError('jmapgate did not exit within %s s of signal %s (killed)\n%s'
                                       % (timeout, sig, _tail(self.log_file)))
            return proc.returncode
        finally:
            _unregister_proc(proc)

    def close(self):
        try:
            if self.running:
                self.stop()
        finally:
            if not self._closed:
                self._closed = True
                _remove_tmpdir(self.dir)

    def log_text(self):
        try:
            with open(self.log_file, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One HTTP request -> (status, {lowercase header: value}, body bytes).
        body: bytes, str (UTF-8) or dict/list (sent as JSON)."""
        if self.port is None:
            raise FixtureError('gateway not started')
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = _json.dumps(body).encode('utf-8')
            if not any(k.lower() == 'content-type' for k in hdrs):
                hdrs['Content-Type'] = 'application/json'
        elif isinstance(body, str):
            body = body.encode('utf-8')
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            out = {}
            for k, v in resp.getheaders():
                k = k.lower()
                out[k] = out[k] + ', ' + v if k in out else v
            return resp.status, out, data
        finally:
            conn.close()

    def sse(self, path, headers=None, timeout=10.0):
        """Open a Server-Sent Events stream: an SSEStream with .status and
        .headers read (close it when done, or use it in a with block)."""
        if self.port is None:
            raise FixtureError('gateway not started')
        return SSEStream(self.host, self.port, path, headers, timeout)

    def json(self, method, path, obj=None, headers=None, timeout=30):
        """Like request() with a JSON body; returns (status, headers, parsed JSON or None)."""
        hdrs = dict(headers or {})
        body = None
        if obj is not None:
            body = _json.dumps(obj).encode('utf-8')
            if not any(k.lower() == 'content-type' for k in hdrs):
                hdrs['Content-Type'] = 'application/json'
        st, h, data = self.request(method, path, body=body, headers=hdrs, timeout=timeout)
        parsed = None
        if data.strip():
            try:
                parsed = _json.loads(data)
            except ValueError:
                parsed = None
        return st, h, parsed

    def metric(self, name):
        """The value of metric name's first sample in /metrics (any labels),
        or None."""
        _, _, body = self.request('GET', '/metrics')
        m = re.search(r'^%s(?:\{[^}]*\})? (\S+)$' % re.escape(name), body.decode(), re.M)
        return float(m.group(1)) if m else None

    def login(self, user, password):
        """POST /api/v1/auth/login; asserts 200 and returns the token."""
        st, h, data = self.request('POST', '/api/v1/auth/login',
                                   body={'username': user, 'password': password})
        if st != 200:
            raise AssertionError('login %s: HTTP %d %r' % (user, st, data[:500]))
        obj = _json.loads(data)
        assert isinstance(obj.get('token'), str) and obj['token'], obj
        return obj['token']


class SSEStream:
    """A minimal SSE client on a raw socket (GET, HTTP/1.1, chunked or not),
    with a deadline on every read, so a test can wait "at most N s" for an
    event, see nothing, and keep reading the same stream later.

    .status, .headers (lowercase keys), .body (for non-200 answers: the
    whole body), events(count, timeout), close(). Context manager."""

    def __init__(self, host, port, path, headers=None, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._raw = b''        # bytes from the socket, not yet de-chunked
        self._buf = b''        # de-chunked body bytes, not yet parsed
        self._eof = False
        self._pending = {}
        self._data = []
        hdrs = {'Host': '%s:%d' % (host, port), 'Accept': 'text/event-stream'}
        hdrs.update(headers or {})
        req = 'GET %s HTTP/1.1\r\n' % path + ''.join('%s: %s\r\n' % kv for kv in hdrs.items()) + '\r\n'
        self.sock.sendall(req.encode('latin-1'))
        deadline = time.monotonic() + timeout
        while b'\r\n\r\n' not in self._raw:
            if not self._recv(deadline):
                self.close()
                raise FixtureError('SSE %s: no response headers within %.0f s' % (path, timeout))
        head, self._raw = self._raw.split(b'\r\n\r\n', 1)
        lines = head.decode('latin-1').split('\r\n')
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(':')
            k = k.strip().lower()
            v = v.strip()
            self.headers[k] = self.headers[k] + ', ' + v if k in self.headers else v
        self.chunked = 'chunked' in self.headers.get('transfer-encoding', '').lower()
        self._chunk_left = 0 if self.chunked else None
        self._length_left = None
        if not self.chunked and 'content-length' in self.headers:
            self._length_left = int(self.headers['content-length'])
        self._dechunk()
        self.body = None
        if self.status != 200:
            while not self._eof and self._recv(deadline):
                self._dechunk()
            self.body = self._buf
            self._buf = b''

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self, deadline):
        """Read once from the socket; False on timeout or EOF."""
        left = deadline - time.monotonic()
        if left <= 0 or self._eof:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b''
        if not data:
            self._eof = True
            return False
        self._raw += data
        return True

    def _dechunk(self):
        if not self.chunked:
            if self._length_left is not None:
                take = self._raw[:self._length_left]
                self._length_left -= len(take)
                if self._length_left == 0:
                    self._eof = True
            else:
                take = self._raw
            self._buf += take
            self._raw = b''
            return
        while True:
            if self._chunk_left > 0:
                take = self._raw[:self._chunk_left]
                self._buf += take
                self._raw = self._raw[len(take):]
                self._chunk_left -= len(take)
                if self._chunk_left > 0:
                    return
                self._chunk_left = -2          # expect the CRLF after the data
            if self._chunk_left == -2:
                if len(self._raw) < 2:
                    return
                self._raw = self._raw[2:]
                self._chunk_left = 0
            if b'\r\n' not in self._raw:
                return
            line, self._raw = self._raw.split(b'\r\n', 1)
            size = int(line.split(b';')[0].strip() or b'0', 16)
            if size == 0:
                self._eof = True
                return
            self._chunk_left = size

    @property
    def closed_by_server(self):
        return self._eof and not self._buf

    def events(self, count=1, timeout=10.0):
        """Up to count events, waiting at most timeout seconds in total.

        Each is {'event', 'data', 'id', 'retry'} (absent fields None, data
        lines joined with '\\n'); comment lines (': ping') come as
        {'comment': text}. Returns early at the end of the stream."""
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            nl = self._buf.find(b'\n')
            if nl < 0:
                if self._eof or not self._recv(deadline):
                    break
                self._dechunk()
                continue
            line = self._buf[:nl].rstrip(b'\r').decode('utf-8', 'replace')
            self._buf = self._buf[nl + 1:]
            if line == '':
                if self._pending or self._data:
                    out.append({'event': self._pending.get('event'),
                                'data': '\n'.join(self._data) if self._data else None,
                                'id': self._pending.get('id'), 'retry': self._pending.get('retry')})
                self._pending, self._data = {}, []
            elif line.startswith(':'):
                out.append({'comment': line[1:].lstrip()})
            else:
                field, _, value = line.partition(':')
                if value.startswith(' '):
                    value = value[1:]
                if field == 'data':
                    self._data.append(value)
                elif field in ('event', 'id', 'retry'):
                    self._pending[field] = value
        return out


# ---------------------------------------------------------------------------
# TestCase.


def make_upstream(users=None, **dovecot_kw):
    """The IMAP server of the JMAPGATE_UPSTREAM profile (tests/support/
    upstream.py), not started: a Dovecot (with the bare profiles' config),
    or a Cyrus. Cyrus takes no Dovecot options: the caller's test is
    skipped (unittest.SkipTest) when it passes any, or when Cyrus is not
    unpacked."""
    import upstream
    if upstream.NAME == 'cyrus':
        import cyrus
        if dovecot_kw:
            raise unittest.SkipTest('needs Dovecot options (%s); the cyrus upstream has not'
                                    % ', '.join(sorted(dovecot_kw)))
        ok, why = cyrus.available()
        if not ok:
            raise unittest.SkipTest(why)
        return cyrus.Cyrus(users=users)
    profile = 'full' if upstream.NAME == 'dovecot' else upstream.NAME
    return Dovecot(users=users, profile=profile, **dovecot_kw)


class StackTestCase(unittest.TestCase):
    """An IMAP server and a Gateway for the whole class: cls.dovecot, cls.gw.
    The server is the JMAPGATE_UPSTREAM profile's (make_upstream): Dovecot
    unless the matrix asks for another.

    USERS: {name: password}; DOVECOT_KW: Dovecot kwargs (tls, compress, ...);
    GATEWAY_ENV: extra JMAPGATE_* variables (None removes one). With tls,
    JMAPGATE_TLS_CA_FILE defaults to the Dovecot's self-signed cert.
    """

    USERS = {'alice': 'alicepass', 'bob': 'bobpass'}
    DOVECOT_KW = {}
    GATEWAY_ENV = {}
    dovecot = None
    gw = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot = cls.gw = None
        try:
            cls.dovecot = make_upstream(users=cls.USERS, **cls.DOVECOT_KW)
            cls.dovecot.start()
            env = {}
            if cls.dovecot.cert_file:
                env['JMAPGATE_TLS_CA_FILE'] = cls.dovecot.cert_file
            env.update(cls.GATEWAY_ENV)
            cls.gw = Gateway(cls.dovecot.url, env=env)
            cls.gw.start()
        except BaseException:
            cls._stop_stack()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls._stop_stack()
        finally:
            super().tearDownClass()

    @classmethod
    def _stop_stack(cls):
        gw, dc = cls.gw, cls.dovecot
        cls.gw = cls.dovecot = None
        try:
            if gw is not None:
                gw.close()   # a gateway that ignores SIGTERM fails the class
        finally:
            if dc is not None:
                dc.close()
