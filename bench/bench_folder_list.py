#!/usr/bin/env python3
"""Folder-list benchmark: GET /api/v1/mailboxes for an account with many
folders, with the IMAP server behind a proxy that delays every chunk by half
a round trip each way (a distant server). A listing is LIST + LSUB + the
STATUS of every folder; the STATUS commands are pipelined, so the time
should grow with the round trips, not with the folder count.

Prints one JSON object. Loopback only; bounded.
usage: bench/bench_folder_list.py [--folders N] [--rtt-ms MS] [--runs K]"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402
from latencyproxy import LatencyProxy  # noqa: E402


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
                    proxy.reset()
                    t0 = time.monotonic()
                    st, _, doc = gw.json("GET", "/api/v1/mailboxes", headers=auth)
                    times.append((time.monotonic() - t0) * 1000)
                    assert st == 200 and len(doc["mailboxes"]) >= args.folders, st
                    counted = proxy.totals()
            out["listed"] = len(doc["mailboxes"])
            out["median_ms"] = round(statistics.median(times), 1)
            out["round_trips_equivalent"] = round(statistics.median(times) / args.rtt_ms, 1)
            out["round_trips"] = counted["round_trips"]
            out["commands"] = counted["commands"]
        finally:
            proxy.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
