"""\\Recent survives the gateway's reads (issue 17 item 7).

Dovecot gives \\Recent to the first session that has the mailbox open
read-write after a message arrives. A gateway read that SELECTs (instead of
EXAMINEs), or that reuses a pool session still SELECTed read-write by an
earlier write, would take \\Recent away from the user's other clients.

Each test: an independent client SELECTs INBOX (claiming every \\Recent
there is), new messages are appended, the gateway reads them through every
read surface, and then a second independent client SELECTs INBOX: its
untagged RECENT must still count the new messages. One pool session per
account makes the reuse deterministic: every read runs on the session the
previous request used.
"""
import re
import unittest
import urllib.parse

from fixture import StackTestCase

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def msg(tag, n):
    return (f"From: Rhea <rhea@example.org>\r\nTo: alice@example.org\r\n"
            f"Subject: recent {tag} {n}\r\nDate: Tue, 01 Oct 2024 10:00:00 +0000\r\n"
            f"Message-ID: <recent-{tag}-{n}@example.org>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nbody {tag} {n}\r\n").encode()


class RecentTest(StackTestCase):
    USERS = {"alice": "alice-pw"}
    GATEWAY_ENV = {"JMAPGATE_POOL_PER_ACCOUNT": "1"}
    NEW = 3

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus("alice", {"INBOX": 5})
        token = cls.gw.login("alice", "alice-pw")
        cls.auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        st, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        assert st == 200, s
        cls.acct = s["primaryAccounts"][MAIL]

    # -- helpers ------------------------------------------------------------
    def get(self, path):
        st, _, out = self.gw.json("GET", path, headers=self.auth)
        self.assertEqual(st, 200, (path, out))
        return out

    def call(self, *calls):
        body = {"using": [CORE, MAIL],
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = self.gw.json("POST", "/jmap/api", body, headers=self.auth)
        self.assertEqual(st, 200, out)
        for r in out["methodResponses"]:
            self.assertNotEqual(r[0], "error", r)
        return [r[1] for r in out["methodResponses"]]

    def select_recent(self):
        """SELECT INBOX read-write on a new independent client: its RECENT."""
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            typ, _ = m.select("INBOX")
            self.assertEqual(typ, "OK")
            recent = m.untagged_responses.get("RECENT", [b"0"])
            return int(recent[-1])
        finally:
            m.logout()

    def inbox_id(self):
        (boxes,) = self.call(["Mailbox/get", {"accountId": self.acct}])
        return next(b["id"] for b in boxes["list"] if b["role"] == "inbox")

    def append_new(self, tag):
        self.select_recent()  # whatever was \Recent is claimed now
        self.assertEqual(self.select_recent(), 0)
        cursor = self.get("/api/v1/mailboxes/INBOX/messages")["cursor"]
        uids = [self.dovecot.append("alice", "alice-pw", "INBOX", msg(tag, i))
                for i in range(self.NEW)]
        return cursor, uids

    def read_everything(self, cursor, uids):
        """Every read surface, each checked to see the new messages."""
        lst = self.get("/api/v1/mailboxes/INBOX/messages")
        self.assertTrue(set(uids) <= {m["uid"] for m in lst["messages"]}, lst)
        for uid in uids:
            d = self.get(f"/api/v1/mailboxes/INBOX/messages/{uid}")
            self.assertIn("body", d["text"])
        d = self.get("/api/v1/mailboxes/INBOX/changes?" + urllib.parse.urlencode({"cursor": cursor}))
        self.assertEqual(sorted(m["uid"] for m in d["added"]), sorted(uids), d)
        inbox = self.inbox_id()
        q, g = self.call(
            ["Email/query", {"accountId": self.acct, "filter": {"inMailbox": inbox},
                             "sort": [{"property": "receivedAt", "isAscending": False}]}],
            ["Email/get", {"accountId": self.acct, "#ids": {"resultOf": "0", "name": "Email/query",
                                                           "path": "/ids"},
                           "properties": ["subject", "bodyValues", "textBody", "preview"],
                           "fetchTextBodyValues": True}])
        subjects = {e["subject"] for e in g["list"]}
        for i in range(self.NEW):
            self.assertTrue(any(re.fullmatch(rf"recent \w+ {i}", s) for s in subjects), subjects)
        self.assertTrue(all(e["bodyValues"] for e in g["list"]), g)

    # -- tests ----------------------------------------------------------------
    def test_reads_leave_recent(self):
        cursor, uids = self.append_new("reads")
        self.read_everything(cursor, uids)
        self.assertEqual(self.select_recent(), self.NEW)

    def test_reads_after_a_write_leave_recent(self):
        """A write SELECTs INBOX read-write on the pool session; reads that
        follow on that session must not sync new mail through it."""
        inbox = self.inbox_id()
        (q,) = self.call(["Email/query", {"accountId": self.acct,
                                          "filter": {"inMailbox": inbox}, "limit": 1}])
        (s,) = self.call(["Email/set", {"accountId": self.acct, "update": {
            q["ids"][0]: {"keywords/$flagged": True}}}])
        self.assertIn(q["ids"][0], s["updated"], s)
        cursor, uids = self.append_new("write")
        self.read_everything(cursor, uids)
        self.assertEqual(self.select_recent(), self.NEW)


if __name__ == "__main__":
    unittest.main()
