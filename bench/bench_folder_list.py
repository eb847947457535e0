#!/usr/bin/env python3
"""Folder-list benchmark: GET /api/v1/mailboxes for an account with many
folders, with the IMAP server behind a proxy that delays every chunk by half
a round trip each way (a distant server). A listing is LIST + LSUB + the
STATUS of every folder; the STATUS commands are pipelined, so the time
should grow with the round trips, not with the folder count.

Prints one JSON object. Loopback only; bounded.
usage: bench/bench_folder_list.py [--folders N] [--rtt-ms MS] [--runs K]"""
import argparse
import heapq
import json
import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402
from tcpproxy import TcpProxy  # noqa: E402


class LatencyProxy(TcpProxy):
    """Delivers each chunk one-way-delay seconds after it arrived, in order."""

    def __init__(self, upstream_port, one_way_s):
        self.delay = one_way_s
        super().__init__(upstream_port)

    def pipe(self, src, dst, from_server):
        self._pipe(src, dst)

    def _pipe(self, src, dst):
        queue, cond, done = [], threading.Condition(), [False]
        seq = [0]

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
                data = b""
            with cond:
                if not data:
                    done[0] = True
                else:
                    seq[0] += 1
                    heapq.heappush(queue, (time.monotonic() + self.delay, seq[0], data))
                cond.notify()
            if not data:
                return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folders", type=int, default=40)
    ap.add_argument("--rtt-ms", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    user, pw = "bench", "bench-pw"
    out = {"benchmark": "folder_list", "folders": args.folders, "rtt_ms": args.rtt_ms}
    with Dovecot(users={user: pw}) as dv:
        m = dv.imap(user, pw)
        for i in range(args.folders):
            m.create("Folder%03d" % i)
        m.logout()
        proxy = LatencyProxy(dv.plain_port, args.rtt_ms / 2000.0)
        try:
            with Gateway("imap://127.0.0.1:%d" % proxy.port) as gw:
                auth = {"Authorization": "Bearer " + gw.login(user, pw)}
                times = []
                for _ in range(args.runs):
                    t0 = time.monotonic()
                    st, _, doc = gw.json("GET", "/api/v1/mailboxes", headers=auth)
                    times.append((time.monotonic() - t0) * 1000)
                    assert st == 200 and len(doc["mailboxes"]) >= args.folders, st
            out["listed"] = len(doc["mailboxes"])
            out["median_ms"] = round(statistics.median(times), 1)
            out["round_trips_equivalent"] = round(statistics.median(times) / args.rtt_ms, 1)
        finally:
            proxy.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
