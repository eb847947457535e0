#!/usr/bin/env python3
"""Round-trip benchmark (issue 19): the gateway's IMAP upstream behind a
proxy that delays every chunk by a one-way delay (default 25 ms each way =
50 ms round trip, a server in another data centre). For each operation of
tests/support/roundtrips.py (login, folder list, first page of 50, message
detail, REST changes without and with a flag change, JMAP Email/query+get
50, Email/changes, Email/set keywords, a move): wall time (median of the
runs), the upstream round trips and commands the proxy counted, and the
round trips a careful hand-written IMAP client needs (minimal_round_trips;
its conversation is written down in roundtrips.py).

Account: a 5,000-message INBOX written straight into the maildir, plus a few
small folders. Prints one JSON object. Loopback only; bounded.
usage: bench/bench_round_trips.py [--messages N] [--one-way-ms MS] [--runs K]"""
import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402
from latencyproxy import LatencyProxy  # noqa: E402
import roundtrips  # noqa: E402


def summarize(samples):
    """{ms, round_trips, commands, by_command} of one operation's runs."""
    last = samples[-1][1]
    return {"ms": round(statistics.median(s[0] for s in samples), 1),
            "round_trips": max(s[1]["round_trips"] for s in samples),
            "commands": max(s[1]["commands"] for s in samples),
            "by_command": last["by_command"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--one-way-ms", type=float, default=25.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--extra-folders", type=int, default=0,
                    help="that many more folders (one message each): the cost per request "
                         "must not grow with them")
    args = ap.parse_args()
    runs = max(1, min(args.runs, 20))
    out = {"benchmark": "round_trips", "messages": args.messages,
           "extra_folders": args.extra_folders,
           "rtt_ms": 2 * args.one_way_ms, "runs": runs, "operations": {}}
    with Dovecot(users={}) as dv:
        roundtrips.seed(dv, args.messages, args.extra_folders)
        proxy = LatencyProxy(dv.plain_port, args.one_way_ms / 1000.0)
        try:
            with Gateway("imap://127.0.0.1:%d" % proxy.port) as gw:
                sc = roundtrips.Scenario(dv, gw, proxy)
                try:
                    sc.prepare(login_users=runs + 1)
                    for name in roundtrips.OPERATIONS:   # warm-up: Dovecot's caches
                        sc.run(name)
                    samples = {name: [] for name in roundtrips.OPERATIONS}
                    for _ in range(runs):
                        for name in roundtrips.OPERATIONS:
                            samples[name].append(sc.run(name))
                finally:
                    sc.close()
        finally:
            proxy.close()
    for name, s in samples.items():
        row = summarize(s)
        row["minimal_round_trips"] = roundtrips.MINIMAL_ROUND_TRIPS[name]
        out["operations"][name] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
