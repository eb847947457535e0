"""Email/changes against a real Dovecot, with an independent IMAP client
changing the mailbox between calls: every delta must equal what happened."""
import unittest

from fixture import StackTestCase
from upstream import requires

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def msg(n):
    return (f"From: t@example.org\r\nSubject: change test {n}\r\n"
            f"Message-ID: <change-{n}@example.org>\r\n\r\nbody {n}\r\n").encode()


class JmapChangesTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus("alice", {"INBOX": 8})
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw")}
        _, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        cls.acct = s["primaryAccounts"][MAIL]

    def call(self, name, args):
        body = {"using": [CORE, MAIL], "methodCalls": [[name, dict(args, accountId=self.acct), "0"]]}
        st, _, out = self.gw.json("POST", "/jmap/api", body, headers=self.auth)
        self.assertEqual(st, 200, out)
        return out["methodResponses"][0][1]

    def state(self):
        return self.call("Email/get", {"ids": []})["state"]

    def id_of(self, n):
        r = self.call("Email/query", {"filter": {"header": ["Message-ID", f"<change-{n}@example.org>"]}})
        self.assertEqual(len(r["ids"]), 1, n)
        return r["ids"][0]

    def changes(self, since, **kw):
        return self.call("Email/changes", dict(kw, sinceState=since))

    @requires("CONDSTORE")
    def test_append_flag_expunge(self):
        s0 = self.state()
        self.assertEqual(self.changes(s0)["created"], [])
        uid = self.dovecot.append("alice", "alice-pw", "INBOX", msg(1))
        ch = self.changes(s0)
        self.assertEqual(ch["created"], [self.id_of(1)])
        self.assertEqual((ch["updated"], ch["destroyed"], ch["hasMoreChanges"]), ([], [], False))
        self.assertEqual(ch["newState"], self.state())
        s1 = ch["newState"]
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            m.select("INBOX")
            m.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")
            ch = self.changes(s1)
            self.assertEqual((ch["created"], ch["updated"], ch["destroyed"]),
                             ([], [self.id_of(1)], []))
            s2 = ch["newState"]
            gone = self.id_of(1)
            m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
            m.expunge()
        finally:
            m.logout()
        ch = self.changes(s2)
        self.assertEqual((ch["created"], ch["updated"], ch["destroyed"]), ([], [], [gone]))
        # from the very first state: created then destroyed nets to a destroy
        # of an id the client never saw, or nothing; never an update
        ch = self.changes(s0)
        self.assertEqual(ch["created"], [])
        self.assertEqual(ch["updated"], [])

    @requires("CONDSTORE")
    def test_max_changes_pages(self):
        s = self.state()
        for n in (10, 11, 12):
            self.dovecot.append("alice", "alice-pw", "INBOX", msg(n))
        seen, pages = [], 0
        while True:
            ch = self.changes(s, maxChanges=1)
            pages += 1
            self.assertLessEqual(len(ch["created"]) + len(ch["updated"]) + len(ch["destroyed"]), 1)
            self.assertEqual(ch["updated"], [])
            seen += [i for i in ch["created"] if i not in seen]
            s = ch["newState"]
            if not ch["hasMoreChanges"]:
                break
            self.assertLess(pages, 10)
        self.assertEqual(sorted(seen), sorted(self.id_of(n) for n in (10, 11, 12)))
        self.assertEqual(self.changes(s)["created"], [])

    @requires("CONDSTORE")
    def test_thread_changes(self):
        s = self.call("Email/get", {"ids": []})["state"]
        root = (b"From: t@example.org\r\nSubject: thread root\r\n"
                b"Message-ID: <troot@example.org>\r\n\r\nroot\r\n")
        self.dovecot.append("alice", "alice-pw", "INBOX", root)
        ch = self.call("Thread/changes", {"sinceState": s})
        self.assertEqual(len(ch["created"]), 1)
        self.assertEqual(ch["updated"], [])
        tid = ch["created"][0]
        self.assertEqual(self.call("Thread/get", {"ids": [tid]})["list"][0]["id"], tid)
        reply = (b"From: u@example.org\r\nSubject: Re: thread root\r\n"
                 b"Message-ID: <treply@example.org>\r\nIn-Reply-To: <troot@example.org>\r\n"
                 b"References: <troot@example.org>\r\n\r\nreply\r\n")
        self.dovecot.append("alice", "alice-pw", "INBOX", reply)
        ch2 = self.call("Thread/changes", {"sinceState": ch["newState"]})
        self.assertEqual((ch2["created"], ch2["updated"], ch2["destroyed"]), ([], [tid], []))
        self.assertEqual(len(self.call("Thread/get", {"ids": [tid]})["list"][0]["emailIds"]), 2)

    @requires("CONDSTORE", "UIDPLUS")
    def test_email_set_keywords_and_destroy(self):
        for n in (30, 31, 32):
            self.dovecot.append("alice", "alice-pw", "INBOX", msg(n))
        a, b, d = self.id_of(30), self.id_of(31), self.id_of(32)
        s0 = self.state()
        r = self.call("Email/set", {"ifInState": s0, "update": {
            a: {"keywords": {"$seen": True, "$flagged": True}},
            b: {"keywords/$seen": True, "keywords/$forwarded": True},
            "eAAAAAAAAAAAAAAAAAAB": {"keywords/$seen": True}},
            "destroy": [d, "nope"], "create": {"k1": {"subject": "x"}}})
        self.assertEqual(r["oldState"], s0)
        self.assertEqual(sorted(r["updated"]), sorted([a, b]))
        self.assertEqual(r["destroyed"], [d])
        self.assertEqual(set(r["notUpdated"]), {"eAAAAAAAAAAAAAAAAAAB"})
        self.assertEqual(r["notDestroyed"]["nope"]["type"], "notFound")
        self.assertEqual(r["notCreated"]["k1"]["type"], "invalidProperties")  # no mailboxIds
        g = self.call("Email/get", {"ids": [a, b], "properties": ["keywords"]})
        kw = {e["id"]: e["keywords"] for e in g["list"]}
        self.assertEqual(kw[a], {"$seen": True, "$flagged": True})
        self.assertEqual(kw[b], {"$seen": True, "$forwarded": True})
        self.assertEqual(r["newState"], self.state())
        # the IMAP truth, from an independent client
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.search(None, "HEADER", "Message-ID", "<change-31@example.org>")
            typ, fl = m.fetch(data[0].split()[0], "(FLAGS)")
            self.assertIn(b"\\Seen", fl[0])
            self.assertIn(b"$Forwarded", fl[0])
            typ, data = m.search(None, "HEADER", "Message-ID", "<change-32@example.org>")
            self.assertEqual(data[0], b"")
        finally:
            m.logout()
        ch = self.changes(s0)
        self.assertEqual(sorted(ch["updated"]), sorted([a, b]))
        self.assertEqual(ch["destroyed"], [d])
        # whole keywords object removes what it does not name; bad patches refused
        r = self.call("Email/set", {"update": {a: {"keywords": {"$flagged": True}},
                                               b: {"mailboxIds": {"x": True}},
                                               d: {"subject": "no"}}})
        self.assertEqual(list(r["updated"]), [a])
        self.assertEqual(r["notUpdated"][b]["type"], "invalidProperties")
        self.assertEqual(r["notUpdated"][d]["type"], "notFound")
        g = self.call("Email/get", {"ids": [a], "properties": ["keywords"]})
        self.assertEqual(g["list"][0]["keywords"], {"$flagged": True})
        r = self.call("Email/set", {"ifInState": s0, "update": {a: {"keywords/$seen": True}}})
        self.assertEqual(r["type"], "stateMismatch")

    def test_cannot_calculate(self):
        s = self.state()
        for bad in ("nope", s[:-3] + ("AAA" if s[-3:] != "AAA" else "BBB")):
            self.assertEqual(self.changes(bad)["type"], "cannotCalculateChanges")
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            m.create("Doomed")
            self.dovecot.append("alice", "alice-pw", "Doomed", msg(20))
            s = self.state()
            m.delete("Doomed")
        finally:
            m.logout()
        self.assertEqual(self.changes(s)["type"], "cannotCalculateChanges")


if __name__ == "__main__":
    unittest.main()
