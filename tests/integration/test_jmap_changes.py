"""Email/changes against a real Dovecot, with an independent IMAP client
changing the mailbox between calls: every delta must equal what happened."""
import unittest

from fixture import StackTestCase

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
