#!/usr/bin/env python3
"""Push benchmark: delivery latency of new mail to SSE clients, measured
against a raw IMAP IDLE client on an EXAMINEd INBOX (like our watchers) in
the same run (Dovecot itself waits up to 0.5 s before telling IDLE
clients), memory per open stream, and fan-out to many streams.

Prints one JSON object. Loopback only; bounded in count and time.
usage: bench/bench_push.py [--samples N] [--clients N]"""
import argparse
import json
import os
import re
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def raw_idle(port, user, password):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"a LOGIN %s %s\r\nb EXAMINE INBOX\r\n" % (user.encode(), password.encode()))
    while not f.readline().startswith(b"b "):
        pass
    s.sendall(b"c IDLE\r\n")
    f.readline()  # + idling
    return s, f


def wait_exists(f, exists, deadline):
    """Time the raw IDLE client reads "* N EXISTS" with N >= exists."""
    while time.monotonic() < deadline:
        m = re.match(rb"\* (\d+) EXISTS", f.readline())
        if m and int(m.group(1)) >= exists:
            return time.monotonic()
    return None


def wait_exists_event(stream, exists, deadline):
    """Time of the first event that shows the folder with `exists` messages
    (earlier events, e.g. a flags change after a delivery, are skipped)."""
    while time.monotonic() < deadline:
        for ev in stream.events(1, max(0.05, deadline - time.monotonic())):
            try:
                if json.loads(ev["data"]).get("exists", 0) >= exists:
                    return time.monotonic()
            except (TypeError, ValueError):
                pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--clients", type=int, default=200)
    args = ap.parse_args()
    user, pw = "bench", "bench-pw"
    out = {"benchmark": "push", "samples": args.samples, "clients": args.clients}
    with Dovecot(users={user: pw}) as dv:
        gw = Gateway(dv.url, env={"JMAPGATE_LOG_LEVEL": "warn", "JMAPGATE_MAX_CONNECTIONS": "5000"})
        gw.start()
        try:
            token = gw.login(user, pw)
            first = gw.sse("/api/v1/events?access_token=" + token)
            time.sleep(1.0)  # the watcher is in IDLE
            raw_s, raw_f = raw_idle(dv.plain_port, user, pw)
            gw_lat, raw_lat = [], []
            for i in range(args.samples):
                t0 = time.monotonic()
                raw_seen = {}
                waiter = threading.Thread(target=lambda: raw_seen.update(
                    t=wait_exists(raw_f, i + 1, t0 + 10)))
                waiter.start()  # the raw IDLE client and the gateway wait side by side
                dv.append(user, pw, "INBOX", b"Subject: b%d\r\n\r\nx\r\n" % i)
                t_gw = wait_exists_event(first, i + 1, t0 + 10)
                waiter.join(11)
                if t_gw:
                    gw_lat.append(t_gw - t0)
                if raw_seen.get("t"):
                    raw_lat.append(raw_seen["t"] - t0)
                time.sleep(0.2)
            out["gateway_latency_s"] = {"median": statistics.median(gw_lat), "max": max(gw_lat)}
            out["raw_idle_latency_s"] = {"median": statistics.median(raw_lat), "max": max(raw_lat)}
            out["gateway_overhead_s_median"] = statistics.median(gw_lat) - statistics.median(raw_lat)
            before = rss_kb(gw.proc.pid)
            streams = [gw.sse("/api/v1/events?access_token=" + token) for _ in range(args.clients)]
            time.sleep(0.5)
            after = rss_kb(gw.proc.pid)
            out["rss_kb_per_stream"] = round((after - before) / args.clients, 1)
            t0 = time.monotonic()
            dv.append(user, pw, "INBOX", b"Subject: fan-out\r\n\r\nx\r\n")
            got = sum(1 for s in streams
                      if wait_exists_event(s, args.samples + 1, t0 + 10) is not None)
            out["fanout_all_delivered_s"] = round(time.monotonic() - t0, 3)
            out["fanout_delivered"] = got
            for s in streams:
                s.close()
            first.close()
            raw_s.close()
        finally:
            gw.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
