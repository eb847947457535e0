"""A loopback IMAP proxy that delays every chunk by a one-way delay (a
distant server) and counts what the client (the gateway) does upstream:

- commands: client->server lines that start an IMAP command (a tag, a
  space, a command word; "UID FETCH" counts as one command named so).
  Literal bodies ({n} / {n+}) and SASL continuation lines are not
  commands; a lone DONE (ends IDLE) is counted apart, as `done`.
- round trips: times the client had to wait for the server before it
  wrote again, i.e. transitions from "the server's bytes reached the
  client" to "the client writes". The greeting counts as server bytes, so
  the first command of a connection is one round trip; pipelined commands
  written before any answer arrives are one.

Counters are kept per upstream connection and in total; reset() zeroes
them (the connections' state is kept, so the first write of the next
operation on a warm connection still counts as a round trip).

    proxy = LatencyProxy(dovecot.plain_port, one_way_s=0.025)
    proxy.reset(); ...; proxy.totals() -> {'round_trips', 'commands', ...}
"""
import heapq
import re
import socket
import threading
import time
from collections import Counter

from tcpproxy import TcpProxy

_COMMAND = re.compile(rb'^[^\s(){%*"\\\]+]+ ((?:UID )?[A-Za-z][A-Za-z0-9.-]*)(?:[ \r]|$)', re.I)
_LITERAL = re.compile(rb'\{(\d+)\+?\}$')


class CommandParser:
    """Splits one direction client->server into lines, skipping literal
    bodies, and counts the lines that start a command."""

    def __init__(self):
        self.buf = b''
        self.literal_left = 0   # literal bytes still to skip
        self.in_command = False  # the current line continues a command after a literal
        self.commands = Counter()
        self.done = 0

    def feed(self, data):
        self.buf += data
        while self.buf:
            if self.literal_left:
                n = min(self.literal_left, len(self.buf))
                self.buf = self.buf[n:]
                self.literal_left -= n
                continue
            nl = self.buf.find(b'\n')
            if nl < 0:
                return
            line, self.buf = self.buf[:nl].rstrip(b'\r'), self.buf[nl + 1:]
            self._line(line)

    def _line(self, line):
        if not self.in_command:
            m = _COMMAND.match(line)
            if m:
                self.commands[m.group(1).decode('ascii', 'replace').upper()] += 1
            elif line.strip().upper() == b'DONE':
                self.done += 1
        lit = _LITERAL.search(line)
        self.in_command = lit is not None
        if lit:
            self.literal_left = int(lit.group(1))


class _Conn:
    """Counters and state of one upstream connection (proxy lock held)."""

    def __init__(self, cid):
        self.id = cid
        self.parser = CommandParser()
        self.round_trips = 0
        self.server_spoke = False   # server bytes reached the client since its last write
        self.base_commands = Counter()
        self.base_done = 0

    def client_wrote(self, data):
        if self.server_spoke:
            self.round_trips += 1
            self.server_spoke = False
        self.parser.feed(data)

    def reset(self):
        self.round_trips = 0
        self.base_commands = Counter(self.parser.commands)
        self.base_done = self.parser.done

    def stats(self):
        cmds = self.parser.commands - self.base_commands
        return {'round_trips': self.round_trips, 'commands': sum(cmds.values()),
                'done': self.parser.done - self.base_done, 'by_command': dict(sorted(cmds.items()))}


class LatencyProxy(TcpProxy):
    """Delivers each chunk one_way_s seconds after it arrived, in order, and
    counts commands and round trips (see the module comment)."""

    def __init__(self, upstream_port, one_way_s=0.0):
        self.delay = one_way_s
        self.lock = threading.Lock()
        self.conns = []
        self.opened_since_reset = 0
        self._conn_of = {}          # client socket -> _Conn
        super().__init__(upstream_port)

    # -- counters ----------------------------------------------------------
    def reset(self):
        with self.lock:
            for c in self.conns:
                c.reset()
            self.opened_since_reset = 0

    def per_connection(self):
        """[{id, round_trips, commands, done, by_command}] of connections
        that did something since the last reset."""
        with self.lock:
            out = []
            for c in self.conns:
                st = c.stats()
                if st['round_trips'] or st['commands'] or st['done']:
                    st['id'] = c.id
                    out.append(st)
            return out

    def totals(self):
        per = self.per_connection()
        by = Counter()
        for st in per:
            by.update(st['by_command'])
        with self.lock:
            opened = self.opened_since_reset
        return {'round_trips': sum(s['round_trips'] for s in per),
                'commands': sum(s['commands'] for s in per),
                'done': sum(s['done'] for s in per),
                'connections_opened': opened,
                'by_command': dict(sorted(by.items()))}

    # -- relaying ----------------------------------------------------------
    def serve(self, client):
        with self.lock:
            conn = _Conn(len(self.conns) + 1)
            self.conns.append(conn)
            self.opened_since_reset += 1
            self._conn_of[client] = conn
        super().serve(client)

    def pipe(self, src, dst, from_server):
        with self.lock:
            conn = self._conn_of[dst if from_server else src]
        if from_server:
            self._relay(src, dst, lambda data: self._server_spoke(conn))
        else:
            self._relay(src, dst, None, lambda data: self._client_wrote(conn, data))

    def _server_spoke(self, conn):
        with self.lock:
            conn.server_spoke = True

    def _client_wrote(self, conn, data):
        with self.lock:
            conn.client_wrote(data)

    def _relay(self, src, dst, on_deliver, on_receive=None):
        """Copy src to dst, each chunk one_way_s after it arrived. on_receive
        runs when a chunk arrives; on_deliver just before it is sent on
        (before, so a reply to it cannot overtake the mark)."""
        queue, cond, done, seq = [], threading.Condition(), [False], [0]
        # each chunk goes on as it came: without this, Nagle holds a chunk
        # until the peer ACKs the one before, and a reader with nothing to
        # write delays that ACK ~40 ms (a pipeline answered in several
        # chunks took 47 ms through the proxy at 0 ms, 5 ms without it)
        try:
            dst.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

        def sender():
            while True:
                with cond:
                    while not queue and not done[0]:
                        cond.wait()
                    if not queue:
                        break
                    due, _, data = queue[0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        cond.wait(wait)
                        continue
                    heapq.heappop(queue)
                if on_deliver:
                    on_deliver(data)
                try:
                    dst.sendall(data)
                except OSError:
                    break
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        threading.Thread(target=sender, daemon=True).start()
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b''
            if data and on_receive:
                on_receive(data)
            with cond:
                if not data:
                    done[0] = True
                else:
                    seq[0] += 1
                    heapq.heappush(queue, (time.monotonic() + self.delay, seq[0], data))
                cond.notify()
            if not data:
                return
