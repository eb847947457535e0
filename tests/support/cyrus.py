"""A throwaway Cyrus IMAP 3.6 on loopback, for the upstream matrix.

Debian's cyrus-imapd conflicts with dovecot-imapd as a package, so it is
never installed: scripts/install-deps downloads the cyrus-common and
cyrus-imapd .debs and unpacks them into .deps/cyrus/root (CYRUS_ROOT), and
this fixture runs cyrmaster from there with a generated imapd.conf and
cyrus.conf in its own temp dir. Passwords live in a private sasldb
(saslpasswd2, Debian's sasl2-bin); an admin user creates each user's
mailbox over IMAP, and the users' special-use folders (Drafts, Sent,
Trash, Junk, Archive) are made with CREATE ... (USE (\\Sent)).

Cyrus offers what Dovecot 2.3 does not: RFC 8474 OBJECTID (MAILBOXID,
EMAILID, THREADID) with conversations, METADATA, PREVIEW; and lacks NOTIFY
and X-GUID. The API follows fixture.Dovecot (url, start, stop, close, imap,
append, add_user), so tests can take either.
"""
import os
import subprocess
import time

import fixture
from fixture import FixtureError, REPO_ROOT

CYRUS_ROOT = os.environ.get('JMAPGATE_CYRUS_ROOT', os.path.join(REPO_ROOT, '.deps', 'cyrus', 'root'))
CYRUS_BIN = os.path.join(CYRUS_ROOT, 'usr', 'lib', 'cyrus', 'bin')
CYRUS_LIB = os.path.join(CYRUS_ROOT, 'usr', 'lib', 'x86_64-linux-gnu')
MASTER_BIN = os.path.join(CYRUS_ROOT, 'usr', 'sbin', 'cyrmaster')
SASLPASSWD = '/usr/sbin/saslpasswd2'
ADMIN = ('cyrusadmin', 'cyrusadmin-pw')
SPECIAL = ('Drafts', 'Sent', 'Trash', 'Junk', 'Archive')


def available():
    """(True, '') when Cyrus can run here, else (False, why)."""
    for path in (MASTER_BIN, os.path.join(CYRUS_BIN, 'imapd'), SASLPASSWD):
        if not os.access(path, os.X_OK):
            return False, '%s missing (run scripts/install-deps)' % path
    return True, ''


class Cyrus:
    host = '127.0.0.1'
    cert_file = None
    tls = False

    def __init__(self, users=None):
        if users is None:
            users = {'alice': 'alicepass', 'bob': 'bobpass'}
        self.users = dict(users)
        self.dir = fixture._make_tmpdir('cyrus')
        os.chmod(self.dir, 0o755)
        self.conf_file = os.path.join(self.dir, 'imapd.conf')
        self.master_conf = os.path.join(self.dir, 'cyrus.conf')
        self.sasldb = os.path.join(self.dir, 'sasldb2')
        self.out_file = os.path.join(self.dir, 'cyrus.out')
        self.proc = None
        self._closed = False
        self.root = os.getuid() == 0
        self.port = self.plain_port = fixture.free_port()
        self.url = 'imap://127.0.0.1:%d' % self.port
        for sub in ('conf', 'conf/socket', 'spool', 'run', 'sock'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self._write_conf()
        self._set_password(*ADMIN)
        for name, pw in self.users.items():
            self._set_password(name, pw)
        self._chown_all()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return '<Cyrus %s dir=%s>' % (self.url, self.dir)

    # -- setup -----------------------------------------------------------
    def _write_conf(self):
        d = self.dir
        with open(self.conf_file, 'w') as f:
            f.write('\n'.join([
                'configdirectory: %s/conf' % d,
                'partition-default: %s/spool' % d,
                'defaultpartition: default',
                'admins: %s' % ADMIN[0],
                'sasl_pwcheck_method: auxprop',
                'sasl_auxprop_plugin: sasldb',
                'sasl_sasldb_path: %s' % self.sasldb,
                'sasl_mech_list: PLAIN LOGIN',
                'allowplaintext: yes',
                'cyrus_user: %s' % ('mail' if self.root else os.environ.get('USER', 'nobody')),
                'unixhierarchysep: yes',
                'altnamespace: yes',
                'conversations: yes',
                'conversations_db: twoskip',
                'idlesocket: %s/conf/socket/idle' % d,
                'lmtpsocket: %s/sock/lmtp' % d,
                'notifysocket: %s/sock/notify' % d,
                'syslog_prefix: jmapgate-cyrus-%d' % self.port,
                'autocreate_quota: 0',
                # the gateway's own server annotations (/private/vendor/
                # jmapgate/...: identities, sortOrders); Cyrus refuses
                # entries it does not define unless this is on
                'annotation_allow_undefined: yes',
                '']))
        # IDLE: without idled, imapd polls every imapidlepoll (60 s) and push
        # tests see nothing; idled runs as a DAEMON, and each imapd binds its
        # own socket beside idlesocket, which must be under
        # {configdirectory}/socket (elsewhere: "bind: No such file or
        # directory" and the 60 s poll again). Then IDLE hears an APPEND in
        # ~0.1 s.
        with open(self.master_conf, 'w') as f:
            f.write('START {\n  recover cmd="%s/ctl_cyrusdb -r -C %s"\n}\n'
                    'SERVICES {\n  imap cmd="%s/imapd -C %s" listen="127.0.0.1:%d" prefork=0\n}\n'
                    'EVENTS {\n}\nDAEMON {\n  idled cmd="%s/idled -C %s"\n}\n'
                    % (CYRUS_BIN, self.conf_file, CYRUS_BIN, self.conf_file, self.port,
                       CYRUS_BIN, self.conf_file))

    def _set_password(self, name, password):
        r = subprocess.run([SASLPASSWD, '-p', '-c', '-f', self.sasldb, '-u', '', name],
                           input=password.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise FixtureError('saslpasswd2 %s: %s' % (name, r.stdout.decode(errors='replace')))

    def _chown_all(self):
        if not self.root:
            return
        import pwd
        pw = pwd.getpwnam('mail')
        for base, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.chown(os.path.join(base, n), pw.pw_uid, pw.pw_gid)
        os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    # -- lifecycle -------------------------------------------------------
    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=15.0):
        if self._closed:
            raise FixtureError('Cyrus %s was closed' % self.dir)
        if self.running:
            return self
        ok, why = available()
        if not ok:
            raise FixtureError('cyrus: ' + why)
        env = dict(os.environ, LD_LIBRARY_PATH=CYRUS_LIB)
        self.proc = fixture._spawn([MASTER_BIN, '-C', self.conf_file, '-M', self.master_conf,
                                    '-D', '-p', os.path.join(self.dir, 'run', 'master.pid')],
                                   'cyrus %s' % self.url, self.out_file, env=env)
        deadline = time.monotonic() + timeout
        while not fixture._imap_greets(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                code = self.proc.poll()
                self.stop()
                raise FixtureError('cyrus did not listen on %d (exit %s)\n%s'
                                   % (self.port, code, fixture._tail(self.out_file)))
            time.sleep(0.05)
        for name in self.users:
            self._create_account(name)
        return self

    def _create_account(self, name):
        m = self.imap(*ADMIN)
        try:
            typ, data = m.create('user/%s' % name)
            if typ != 'OK' and b'exists' not in b' '.join(data).lower():
                raise FixtureError('cyrus: CREATE user/%s: %r' % (name, data))
        finally:
            m.logout()
        m = self.imap(name, self.users[name])
        try:
            for box in SPECIAL:
                m._simple_command('CREATE', box, '(USE (\\%s))' % box)
                m.subscribe(box)
        finally:
            m.logout()

    def stop(self, timeout=10.0):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        fixture._kill_proc(proc, timeout=timeout)
        fixture._unregister_proc(proc)
        # cyrmaster's children (imapd) leave with it; wait for the port
        deadline = time.monotonic() + 5
        while fixture._imap_greets(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def close(self):
        if self._closed:
            return
        self.stop()
        self._closed = True
        fixture._remove_tmpdir(self.dir)

    # -- users and mail --------------------------------------------------
    def add_user(self, name, password):
        self.users[name] = password
        self._set_password(name, password)
        self._chown_all()
        if self.running:
            self._create_account(name)

    def imap(self, user, password, timeout=30):
        return fixture.imap_login(self.host, self.port, user, password, timeout)

    def append(self, user, password, mailbox, raw, flags=''):
        """APPEND raw to mailbox (created if needed); returns the new UID."""
        return fixture.imap_append(self.imap(user, password), mailbox, raw, flags)

    def seed_corpus(self, user, counts, flagged_every=7, seen_every=3):
        """APPEND real corpus messages (Cyrus has no Maildir to write into):
        {'INBOX': 20, ...}; message i of a folder is \\Flagged when
        (i+1) % flagged_every == 0 and \\Seen when (i+1) % seen_every == 0."""
        files = fixture.corpus_files()
        nxt = getattr(self, '_corpus_next', 0)
        for folder, count in counts.items():
            for i in range(int(count)):
                raw = fixture.read_corpus_message(files[nxt % len(files)])
                nxt += 1
                fl = []
                if flagged_every and (i + 1) % flagged_every == 0:
                    fl.append('\\Flagged')
                if seen_every and (i + 1) % seen_every == 0:
                    fl.append('\\Seen')
                self.append(user, self.users[user], folder, raw, ' '.join(fl))
        self._corpus_next = nxt
