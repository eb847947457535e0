"""A loopback IMAP proxy that records every command the client (the
gateway) sends, and a checker that names the commands a server's
CAPABILITY did not allow.

Dovecot executes most commands it does not advertise (UID MOVE, ENABLE
QRESYNC, CHANGEDSINCE, X-GUID... on a profile whose CAPABILITY hides
them), so a bare-profile test cannot rely on the server refusing: it
records what the gateway sent and checks it against the advertised
capabilities.

    proxy = CommandLog(dovecot.plain_port)
    gw = Gateway('imap://127.0.0.1:%d' % proxy.port)
    ...
    self.assertEqual(unadvertised(proxy.lines(), caps), [])

LOGIN and AUTHENTICATE lines are recorded without their arguments.
"""
import re
import threading

from latencyproxy import CommandParser, _COMMAND
from tcpproxy import TcpProxy, shut

# (extension, pattern over the command line without its tag, upper-cased).
# A line needs the extension when the pattern matches.
RULES = (
    ('MOVE', r'^(UID )?MOVE '),
    ('UIDPLUS', r'^UID EXPUNGE'),
    ('CONDSTORE', r'CHANGEDSINCE|\bMODSEQ\b|HIGHESTMODSEQ|\(CONDSTORE\)'),
    ('QRESYNC', r'QRESYNC|VANISHED'),
    ('X-GUID', r'X-GUID'),
    ('OBJECTID', r'EMAILID|MAILBOXID|THREADID'),
    ('X-GM-EXT-1', r'X-GM-'),
    ('SORT', r'^(UID )?SORT '),
    ('THREAD=REFERENCES', r'^(UID )?THREAD '),
    ('ESEARCH', r'^(UID )?SEARCH RETURN'),
    ('LIST-EXTENDED', r'^LIST \(|^LIST .* RETURN '),
    ('LIST-STATUS', r'^LIST .* RETURN .*STATUS'),
    ('SPECIAL-USE', r'^LIST .*SPECIAL-USE|^CREATE .*\(USE '),
    ('UNSELECT', r'^UNSELECT'),
    ('NAMESPACE', r'^NAMESPACE'),
    ('NOTIFY', r'^NOTIFY'),
    ('IDLE', r'^IDLE'),
    ('COMPRESS=DEFLATE', r'^COMPRESS'),
    ('METADATA', r'^(GET|SET)METADATA'),
    ('PREVIEW', r'^(UID )?FETCH .*PREVIEW'),
    ('STATUS=SIZE', r'^STATUS .*\bSIZE\b'),
    ('SEARCHRES', r'^UID (FETCH|STORE|COPY|MOVE) \$'),
    ('ID', r'^ID '),
)
_RULES = [(ext, re.compile(p)) for ext, p in RULES]
_SECRET = re.compile(r'^((?:\S+ )?(?:LOGIN|AUTHENTICATE))\b.*$', re.I)


def needs(line):
    """The extensions a command line (tag included) needs, in RULES order."""
    body = line.split(' ', 1)[1].upper() if ' ' in line else line.upper()
    out = [ext for ext, rx in _RULES if rx.search(body)]
    m = re.match(r'^ENABLE (.*)$', body)
    if m:
        out += ['ENABLE'] + m.group(1).split()
    return out


def unadvertised(lines, caps):
    """[(line, extension)] for every line that needs an extension missing
    from caps (a CAPABILITY list of words, any case)."""
    have = {c.upper() for c in caps}
    return [(line, ext) for line in lines for ext in needs(line) if ext.upper() not in have]


class _Recorder(CommandParser):
    def __init__(self, sink, lock):
        super().__init__()
        self.sink, self.lock = sink, lock

    def _line(self, line):
        if not self.in_command and _COMMAND.match(line):
            text = _SECRET.sub(r'\1 ...', line.decode('utf-8', 'replace'))
            with self.lock:
                self.sink.append(text)
        super()._line(line)


class CommandLog(TcpProxy):
    """Relays to 127.0.0.1:upstream_port and records client commands."""

    def __init__(self, upstream_port):
        self._lock = threading.Lock()
        self._conns = []        # per upstream connection, its command lines in order
        super().__init__(upstream_port)

    def connections(self):
        """[[line, ...] per connection], in the order they were opened."""
        with self._lock:
            return [list(c) for c in self._conns]

    def lines(self):
        return [line for c in self.connections() for line in c]

    def pipe(self, src, dst, from_server):
        if from_server:
            return super().pipe(src, dst, from_server)
        sink = []
        with self._lock:
            self._conns.append(sink)
        rec = _Recorder(sink, self._lock)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                rec.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            shut(src, dst)
