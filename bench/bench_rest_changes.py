#!/usr/bin/env python3
"""REST delta benchmark: on a large folder, the cost of "what changed since
my cursor" after one change, against listing the folder — upstream bytes
(from the gateway's IMAP debug log) and wall time.

Prints one JSON object. Loopback only; bounded.
usage: bench/bench_rest_changes.py [--messages N]"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402


def upstream_bytes(log):
    """Bytes of IMAP data the gateway logged as received (debug level; each
    line is logged truncated, so this is a lower bound)."""
    return sum(len(m) for m in re.findall(r'msg="imap S" [^\n]*data="([^"]*)"', log))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=20000)
    args = ap.parse_args()
    user, pw = "bench", "bench-pw"
    out = {"benchmark": "rest_changes", "messages": args.messages}
    with Dovecot(users={user: pw}) as dv:
        dv.seed_corpus(user, {"Big": args.messages})
        gw = Gateway(dv.url)
        gw.start()
        try:
            auth = {"Authorization": "Bearer " + gw.login(user, pw)}
            st, _, boxes = gw.json("GET", "/api/v1/mailboxes", headers=auth)
            cursor = [m for m in boxes["mailboxes"] if m["path"] == "Big"][0]["cursor"]
            m = dv.imap(user, pw)
            m.select("Big")
            m.uid("STORE", "5", "+FLAGS", "(\\Flagged)")
            m.logout()
            mark = len(gw.log_text())
            t0 = time.monotonic()
            st, _, ch = gw.json("GET", "/api/v1/mailboxes/Big/changes?cursor=" + cursor,
                                headers=auth)
            out["changes_ms"] = round((time.monotonic() - t0) * 1000, 1)
            out["changes_flags"] = len(ch["flags"])
            out["changes_upstream_bytes"] = upstream_bytes(gw.log_text()[mark:])
            mark = len(gw.log_text())
            t0 = time.monotonic()
            st, _, page = gw.json("GET", "/api/v1/mailboxes/Big/messages?limit=500", headers=auth)
            out["page500_ms"] = round((time.monotonic() - t0) * 1000, 1)
            out["page500_upstream_bytes"] = upstream_bytes(gw.log_text()[mark:])
        finally:
            gw.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
