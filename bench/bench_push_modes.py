#!/usr/bin/env python3
"""Push modes side by side: for push_mode examine, select and notify, the
time from an APPEND by another client to the REST event, and the same
gateway's lead over a raw IMAP IDLE client (EXAMINEd INBOX) measured in
the same run, as p50/p95/p99 over --samples deliveries. Also what each mode
does to other clients: how many of the new messages still carry \\Recent
for the user's own client afterwards (a read-write SELECT by the watcher
takes \\Recent away from everyone else).

Prints one JSON object. Loopback only; bounded.
usage: bench/bench_push_modes.py [--samples N] [--modes examine,select,notify]"""
import argparse
import imaplib
import json
import os
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from bench_push import raw_idle, wait_exists, wait_exists_event  # noqa: E402
from fixture import Dovecot, Gateway  # noqa: E402


def pct(values, p):
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))], 4)


def summary(values):
    return {"p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99),
            "n": len(values)}


def recent_for_others(dv, user, pw):
    m = imaplib.IMAP4("127.0.0.1", dv.plain_port)
    m.login(user, pw)
    typ, data = m.select("INBOX")
    recent = int(m.untagged_responses.get("RECENT", [b"0"])[-1])
    m.logout()
    return recent


def run_mode(mode, samples):
    user, pw = "bench", "bench-pw"
    with Dovecot(users={user: pw}) as dv:
        gw = Gateway(dv.url, env={"JMAPGATE_LOG_LEVEL": "warn", "JMAPGATE_PUSH_MODE": mode})
        gw.start()
        try:
            token = gw.login(user, pw)
            stream = gw.sse("/api/v1/events?mailbox=INBOX&access_token=" + token)
            time.sleep(1.0)  # the watcher (or the account's NOTIFY connection) is in IDLE
            raw_s, raw_f = raw_idle(dv.plain_port, user, pw)
            gw_lat, lead = [], []
            for i in range(samples):
                t0 = time.monotonic()
                raw_seen = {}
                waiter = threading.Thread(target=lambda: raw_seen.update(
                    t=wait_exists(raw_f, i + 1, t0 + 10)))
                waiter.start()
                dv.append(user, pw, "INBOX", b"Subject: m%d\r\n\r\nx\r\n" % i)
                t_gw = wait_exists_event(stream, i + 1, t0 + 10)
                waiter.join(11)
                if t_gw:
                    gw_lat.append(t_gw - t0)
                    if raw_seen.get("t"):
                        lead.append(t_gw - raw_seen["t"])
                time.sleep(0.1)
            stream.close()
            raw_s.close()
            return {"append_to_event_s": summary(gw_lat),
                    "gateway_minus_raw_examine_idle_s": summary(lead),
                    "recent_left_for_other_clients": recent_for_others(dv, user, pw),
                    "new_messages": samples}
        finally:
            gw.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--modes", default="examine,select,notify")
    args = ap.parse_args()
    out = {"benchmark": "push_modes", "samples": args.samples}
    for mode in args.modes.split(","):
        out[mode] = run_mode(mode, args.samples)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
