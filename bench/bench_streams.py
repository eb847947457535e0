#!/usr/bin/env python3
"""Many-streams benchmark: N concurrent SSE streams (default 10,000) on one
gateway, spread over 100 accounts plus one hot account (default 2,000
streams), then one APPEND into the hot account's INBOX.

Measures the gateway's RSS per open stream, its fds and threads, the time
from the APPEND (and from a raw IMAP IDLE client on the same EXAMINEd
INBOX, a stand-in for the watcher's notice) to the first and the last hot
stream receiving the event, the spread last - first (the fan-out cost),
the hub's own notice -> queued latency (/metrics), and that RSS, fds and
threads come back near the baseline once every stream has hung up.

The client is one thread with non-blocking sockets and epoll sending raw
`GET /api/v1/events?mailbox=INBOX` requests with a Bearer token. It raises
RLIMIT_NOFILE to the hard limit before the gateway starts (the gateway
inherits it and raises its own as well). Loopback only; bounded in time
(every phase has a deadline; the whole run takes about a minute).

Prints one JSON object.
usage: bench/bench_streams.py [--streams N] [--hot N] [--accounts N]"""
import argparse
import json
import os
import re
import resource
import select
import socket
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402

# 101 accounts x (one watcher + a few pool sessions) exceed Dovecot's
# default of 100 processes per service.
DOVECOT_CONF = """default_process_limit = 1500
default_client_limit = 3000
"""
MAX_PENDING = 256          # requests waiting for their response head at once
OPEN_DEADLINE_S = 90
EVENT_DEADLINE_S = 15
SETTLE_DEADLINE_S = 20


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def proc_usage(pid):
    with open("/proc/%d/status" % pid) as f:
        text = f.read()
    rss = int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1))
    threads = int(re.search(r"^Threads:\s+(\d+)", text, re.M).group(1))
    return {"rss_kb": rss, "fds": len(os.listdir("/proc/%d/fd" % pid)), "threads": threads}


def metrics(gw):
    with urllib.request.urlopen(gw.base_url + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'^(jmapgate_push_[a-z_]+)(\{le="([^"]+)"\})? ([0-9.e+-]+)$', line)
        if m:
            key = m.group(1) + (":" + m.group(3) if m.group(3) else "")
            out[key] = float(m.group(4))
    return out


class Stream:
    __slots__ = ("sock", "hot", "buf", "state", "t_event")

    def __init__(self, sock, hot):
        self.sock, self.hot, self.buf, self.state, self.t_event = sock, hot, b"", "connecting", None


def open_streams(gw, plan, ep):
    """plan: list of (token, hot). Opens them MAX_PENDING at a time; returns
    (open streams, failures, seconds)."""
    t0 = time.monotonic()
    by_fd, done, failed = {}, [], 0
    todo = list(reversed(plan))
    pending = 0
    deadline = t0 + OPEN_DEADLINE_S
    while (todo or pending) and time.monotonic() < deadline:
        while todo and pending < MAX_PENDING:
            token, hot = todo.pop()
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect_ex((gw.host, gw.port))
            st = Stream(s, hot)
            st.buf = ("GET /api/v1/events?mailbox=INBOX HTTP/1.1\r\nHost: bench\r\n"
                      "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n"
                      % token).encode()
            by_fd[s.fileno()] = st
            ep.register(s.fileno(), select.EPOLLOUT)
            pending += 1
        for fd, ev in ep.poll(0.5):
            st = by_fd[fd]
            if st.state == "connecting":
                try:
                    st.sock.send(st.buf)
                    st.buf, st.state = b"", "head"
                    ep.modify(fd, select.EPOLLIN)
                    continue
                except OSError:
                    pass
            else:
                try:
                    data = st.sock.recv(4096)
                except OSError:
                    data = b""
                st.buf += data
                ok = st.buf.startswith(b"HTTP/1.1 200")
                if data and (b"\r\n\r\n" not in st.buf or (ok and b"retry:" not in st.buf)):
                    continue  # the head (and the first line) are not in yet
                if data and ok:
                    st.buf, st.state = b"", "open"
                    ep.unregister(fd)
                    done.append(st)
                    pending -= 1
                    continue
            failed += 1
            pending -= 1
            ep.unregister(fd)
            st.sock.close()
    for st in by_fd.values():
        if st.state != "open" and st.sock.fileno() >= 0:
            failed += 1
            st.sock.close()
    return done, failed, time.monotonic() - t0


def wait_event(streams, ep, deadline):
    """Read the hot streams until each has an `event: changed`; returns the
    arrival times."""
    by_fd = {st.sock.fileno(): st for st in streams}
    for fd in by_fd:
        ep.register(fd, select.EPOLLIN)
    left = len(by_fd)
    while left and time.monotonic() < deadline:
        for fd, _ in ep.poll(0.2):
            st = by_fd[fd]
            try:
                data = st.sock.recv(65536)
            except OSError:
                data = b""
            now = time.monotonic()
            if not data:
                ep.unregister(fd)
                left -= 1
                continue
            st.buf = (st.buf + data)[-4096:]
            if st.t_event is None and b"event: changed" in st.buf:
                st.t_event = now
                left -= 1
                ep.unregister(fd)
    for fd, st in by_fd.items():
        if st.t_event is None:
            try:
                ep.unregister(fd)
            except OSError:
                pass
    return sorted(st.t_event for st in streams if st.t_event is not None)


def raw_idle_notice(dv, user, pw, result, ready):
    """A raw IMAP client EXAMINEs INBOX and IDLEs like the watcher; records
    when it reads the EXISTS of the new message."""
    s = socket.create_connection(("127.0.0.1", dv.plain_port), timeout=EVENT_DEADLINE_S)
    f = s.makefile("rb")
    try:
        f.readline()
        s.sendall(b"a LOGIN %s %s\r\nb EXAMINE INBOX\r\n" % (user.encode(), pw.encode()))
        while not f.readline().startswith(b"b "):
            pass
        s.sendall(b"c IDLE\r\n")
        f.readline()
        ready.set()
        while True:
            line = f.readline()
            if not line:
                return
            if re.match(rb"\* \d+ EXISTS", line):
                result["t"] = time.monotonic()
                return
    except OSError:
        return
    finally:
        ready.set()
        s.close()


def settle(pid, base, deadline):
    """Wait until fds and threads are back at the baseline (RSS may keep
    some of the allocator's high-water mark); returns the last reading."""
    u = proc_usage(pid)
    while time.monotonic() < deadline:
        if u["fds"] <= base["fds"] + 2 and u["threads"] <= base["threads"]:
            break
        time.sleep(0.5)
        u = proc_usage(pid)
    return u


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--hot", type=int, default=2000, help="streams of the hot account")
    ap.add_argument("--accounts", type=int, default=100, help="other accounts")
    args = ap.parse_args()
    hot_n = min(args.hot, args.streams)
    nofile = raise_nofile(args.streams + 1000)
    if nofile < args.streams + 200:
        sys.exit("RLIMIT_NOFILE %d is too low for %d streams" % (nofile, args.streams))
    users = {"hot": "hot-pw"}
    users.update({"u%03d" % i: "pw%03d" % i for i in range(args.accounts)})
    out = {"benchmark": "streams", "streams": args.streams, "hot_streams": hot_n,
           "accounts": len(users)}
    with Dovecot(users=users, extra_conf=DOVECOT_CONF) as dv:
        dv.append("hot", "hot-pw", "INBOX", b"Subject: first\r\n\r\nx\r\n")
        gw = Gateway(dv.url, env={"JMAPGATE_LOG_LEVEL": "warn",
                                  "JMAPGATE_MAX_CONNECTIONS": str(args.streams + 500),
                                  # idle upstream sessions and watchers end
                                  # soon, so the baseline is comparable
                                  "JMAPGATE_WATCH_GRACE": "1",
                                  "JMAPGATE_POOL_KEEPALIVE": "2",
                                  "JMAPGATE_POOL_MAX_IDLE": "2"})
        gw.start()
        ep = select.epoll()
        streams = []
        try:
            tokens = {u: gw.login(u, p) for u, p in users.items()}
            others = [u for u in users if u != "hot"]
            plan = [(tokens["hot"], True)] * hot_n
            plan += [(tokens[others[i % len(others)]], False)
                     for i in range(args.streams - hot_n)]
            plan.sort(key=lambda p: hash(p[0]))  # interleave the accounts
            time.sleep(3.0)  # the logins' pool sessions have closed
            base = proc_usage(gw.proc.pid)
            out["baseline"] = base
            streams, failed, secs = open_streams(gw, plan, ep)
            out["opened"], out["open_failed"], out["open_s"] = len(streams), failed, round(secs, 1)
            time.sleep(2.0)  # watchers connect and IDLE
            loaded = proc_usage(gw.proc.pid)
            out["loaded"] = loaded
            if streams:
                out["rss_kb_per_stream"] = round((loaded["rss_kb"] - base["rss_kb"]) / len(streams), 2)
            hot = [st for st in streams if st.hot]
            m0 = metrics(gw)
            out["watchers"] = m0.get("jmapgate_push_watchers")
            raw, ready = {}, threading.Event()
            t = threading.Thread(target=raw_idle_notice, args=(dv, "hot", "hot-pw", raw, ready))
            t.start()
            ready.wait(EVENT_DEADLINE_S)
            time.sleep(0.2)
            t_append = time.monotonic()
            dv.append("hot", "hot-pw", "INBOX", b"Subject: fan-out\r\n\r\nx\r\n")
            got = wait_event(hot, ep, t_append + EVENT_DEADLINE_S)
            t.join(EVENT_DEADLINE_S)
            m1 = metrics(gw)
            fan = {"delivered": len(got), "of": len(hot)}
            if got:
                fan["append_to_first_s"] = round(got[0] - t_append, 4)
                fan["append_to_last_s"] = round(got[-1] - t_append, 4)
                fan["spread_last_minus_first_s"] = round(got[-1] - got[0], 4)
                if raw.get("t"):
                    fan["raw_idle_notice_to_last_s"] = round(got[-1] - raw["t"], 4)
            n = m1.get("jmapgate_push_latency_seconds_count", 0) - m0.get(
                "jmapgate_push_latency_seconds_count", 0)
            if n > 0:
                fan["hub_queued"] = n
                fan["hub_notice_to_queued_mean_s"] = round(
                    (m1["jmapgate_push_latency_seconds_sum"]
                     - m0["jmapgate_push_latency_seconds_sum"]) / n, 5)
                bounds = sorted(float(k.split(":")[1]) for k in m1
                                if k.startswith("jmapgate_push_latency_seconds_bucket:")
                                and k.split(":")[1] != "+Inf")
                for b in bounds:
                    k = "jmapgate_push_latency_seconds_bucket:%g" % b
                    if m1.get(k, 0) - m0.get(k, 0) >= n:
                        fan["hub_notice_to_all_queued_le_s"] = b
                        break
            out["fanout"] = fan
        finally:
            for st in streams:
                st.sock.close()
            ep.close()
        try:
            t_close = time.monotonic()
            after = settle(gw.proc.pid, base, t_close + SETTLE_DEADLINE_S)
            time.sleep(3.0)  # watchers and pool sessions end (1 s, 2 s)
            after = proc_usage(gw.proc.pid)
            out["after_close"] = after
            out["after_close_s"] = round(time.monotonic() - t_close, 1)
            out["back_to_baseline"] = {
                "fds": after["fds"] - base["fds"],
                "threads": after["threads"] - base["threads"],
                "rss_kb": after["rss_kb"] - base["rss_kb"]}
            m2 = metrics(gw)
            out["streams_left"] = m2.get("jmapgate_push_streams")
            out["watchers_left"] = m2.get("jmapgate_push_watchers")
        finally:
            gw.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
