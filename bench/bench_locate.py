#!/usr/bin/env python3
"""Locating moved messages (issue 12): Email/get of 50 ids whose messages
another IMAP client moved, on a 50-folder account, by a gateway instance
that never saw them (a cold location cache: one pipelined round of
EXAMINE + UID SEARCH RETURN (SAVE) X-GUID ... + UID FETCH $ over the
folders), then again (warm: the cache names each folder and UID). The
upstream sits behind a proxy with a one-way delay (default 25 ms = 50 ms
RTT). Prints one JSON object: wall ms (median of the runs), upstream round
trips and commands. Loopback only; bounded.
usage: bench/bench_locate.py [--folders N] [--one-way-ms MS] [--runs K]"""
import argparse
import base64
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "support"))
from fixture import Dovecot, Gateway  # noqa: E402
from latencyproxy import LatencyProxy  # noqa: E402

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
USER, PASSWORD = "loc", "loc-pw"


def jmap(gw, auth, acct, ids):
    body = {"using": [CORE, MAIL], "methodCalls": [["Email/get", {
        "accountId": acct, "ids": ids, "properties": ["mailboxIds", "keywords", "subject"]}, "0"]]}
    st, _, out = gw.json("POST", "/jmap/api", body, headers=auth)
    r = out["methodResponses"][0][1]
    assert st == 200 and len(r["list"]) == len(ids) and not r["notFound"], out
    return r


def session(gw):
    auth = {"Authorization": "Bearer " + gw.login(USER, PASSWORD), "Content-Type": "application/json"}
    _, _, s = gw.json("GET", "/.well-known/jmap", headers=auth)
    return auth, s["primaryAccounts"][MAIL]


def move_all(dv, ids_guids, folders, rnd):
    """Move every message (by X-GUID) from INBOX to a random folder."""
    m = dv.imap(USER, PASSWORD)
    try:
        m.select("INBOX")
        for guid in ids_guids:
            uid = m.uid("SEARCH", 'X-GUID "%s"' % guid)[1][0].split()[0].decode()
            assert m.uid("MOVE", uid, rnd.choice(folders))[0] == "OK"
    finally:
        m.logout()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--folders", type=int, default=50)
    ap.add_argument("--one-way-ms", type=float, default=25.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = max(1, min(args.runs, 10))
    folders = ["Box%03d" % i for i in range(max(1, min(args.folders, 500)))]
    rnd = random.Random(12)
    out = {"benchmark": "locate_moved", "folders": len(folders) + 1, "ids": 50,
           "rtt_ms": 2 * args.one_way_ms, "runs": runs}
    cold, warm = [], []
    with Dovecot(users={}) as dv:
        dv.add_user(USER, PASSWORD)
        dv.seed_corpus(USER, dict({"INBOX": 50 * runs + 50}, **{f: 4 for f in folders}))
        with Gateway(dv.url) as lister:
            auth0, acct0 = session(lister)
            body = {"using": [CORE, MAIL], "methodCalls": [["Email/query", {
                "accountId": acct0, "limit": 50 * runs,
                "filter": {"inMailbox": None}}, "0"]]}
            proxy = LatencyProxy(dv.plain_port, args.one_way_ms / 1000.0)
            try:
                for run in range(runs):
                    # the 50 ids, listed by one instance, then moved by imaplib
                    boxes = lister.json("POST", "/jmap/api", {"using": [CORE, MAIL], "methodCalls": [
                        ["Mailbox/get", {"accountId": acct0, "properties": ["name"]}, "0"]]},
                        headers=auth0)[2]["methodResponses"][0][1]["list"]
                    inbox = [b["id"] for b in boxes if b["name"] == "INBOX"][0]
                    body["methodCalls"][0][1]["filter"]["inMailbox"] = inbox
                    body["methodCalls"][0][1]["limit"] = 50
                    ids = lister.json("POST", "/jmap/api", body, headers=auth0)[2][
                        "methodResponses"][0][1]["ids"]
                    guids = [base64.urlsafe_b64decode(i[1:] + "=" * (-len(i[1:]) % 4)).decode()
                             for i in ids]
                    move_all(dv, guids, folders, rnd)
                    # a fresh instance behind the proxy: cold cache
                    with Gateway("imap://127.0.0.1:%d" % proxy.port) as gw:
                        auth, acct = session(gw)
                        jmap(gw, auth, acct, [])        # log in, list folders once
                        for sample in (cold, warm):
                            proxy.reset()
                            t0 = time.monotonic()
                            jmap(gw, auth, acct, ids)
                            sample.append(((time.monotonic() - t0) * 1000, proxy.totals()))
            finally:
                proxy.close()
    for name, s in (("cold", cold), ("warm", warm)):
        out[name] = {"ms": round(statistics.median(x[0] for x in s), 1),
                     "round_trips": max(x[1]["round_trips"] for x in s),
                     "commands": max(x[1]["commands"] for x in s),
                     "by_command": s[-1][1]["by_command"]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
