"""REST delta-sync API (issue 6) against a real Dovecot, with an independent
IMAP client (imaplib) changing folders between calls: every answer is
checked against what that client sees."""
import base64
import re
import unittest
import urllib.parse

from fixture import StackTestCase


def msg(n, subject=None):
    subject = subject or f"rest test {n}"
    return (f"From: Tess <t@example.org>\r\nTo: alice@example.org\r\n"
            f"Subject: {subject}\r\nDate: Tue, 01 Oct 2024 10:00:00 +0000\r\n"
            f"Message-ID: <rest-{n}@example.org>\r\n\r\nbody of {n}\r\n").encode()


def mutf7(name):
    """UTF-8 -> IMAP modified UTF-7 (RFC 3501 5.1.3), for the test's own client."""
    out, buf = [], []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def enc(path):
    return urllib.parse.quote(path, safe="")


class RestTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus("alice", {"INBOX": 12, "Paging": 30})
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw")}

    # -- helpers ----------------------------------------------------------
    def get(self, path, status=200):
        st, h, out = self.gw.json("GET", path, headers=self.auth)
        self.assertEqual(st, status, (path, out))
        return out

    def imap(self):
        return self.dovecot.imap("alice", "alice-pw")

    def uids(self, folder):
        """Ground truth: every UID of folder, ascending, and its flags."""
        m = self.imap()
        try:
            typ, _ = m.select(q(mutf7(folder)), readonly=True)
            self.assertEqual(typ, "OK")
            typ, data = m.uid("FETCH", "1:*", "(FLAGS)")
            out = {}
            for d in data:
                if not d:
                    continue
                d = d if isinstance(d, bytes) else d[0]
                mm = re.search(rb"UID (\d+)", d)
                fl = re.search(rb"FLAGS \(([^)]*)\)", d)
                if mm:
                    flags = fl.group(1).decode().split() if fl else []
                    out[int(mm.group(1))] = sorted(f for f in flags if f != "\\Recent")
            return out
        finally:
            m.logout()

    def mailbox(self, path):
        for b in self.get("/api/v1/mailboxes")["mailboxes"]:
            if b["path"] == path:
                return b
        self.fail(f"no folder {path}")

    def messages(self, path, **query):
        qs = urllib.parse.urlencode(query)
        return self.get(f"/api/v1/mailboxes/{enc(path)}/messages" + ("?" + qs if qs else ""))

    def create(self, folder):
        m = self.imap()
        try:
            m.create(q(mutf7(folder)))
        finally:
            m.logout()

    # -- 1. folders carry a cursor -----------------------------------------
    def test_mailboxes_have_cursor(self):
        boxes = self.get("/api/v1/mailboxes")["mailboxes"]
        for b in boxes:
            if b["selectable"]:
                self.assertRegex(b["cursor"], r"^[A-Za-z0-9_-]+$", b)
        inbox = self.mailbox("INBOX")
        self.assertEqual(inbox["cursor"], self.messages("INBOX")["cursor"])

    # -- 2. message lists ---------------------------------------------------
    def test_list_newest_first_with_summary(self):
        truth = self.uids("INBOX")
        page = self.messages("INBOX", limit=5)
        self.assertEqual(page["total"], len(truth))
        self.assertEqual([m["uid"] for m in page["messages"]], sorted(truth, reverse=True)[:5])
        self.assertEqual(page["nextBefore"], sorted(truth, reverse=True)[4])
        box = self.mailbox("INBOX")
        self.assertEqual(page["uidvalidity"], box["uidvalidity"])
        s = page["messages"][0]
        for k in ("uid", "id", "threadId", "from", "to", "subject", "date", "preview",
                  "flags", "size", "hasAttachment"):
            self.assertIn(k, s)
        self.assertEqual(sorted(s["flags"]), truth[s["uid"]])
        self.assertTrue(s["id"].startswith("e"))
        self.assertIsInstance(s["size"], int)

    def test_list_ids_are_jmap_ids(self):
        uid = self.dovecot.append("alice", "alice-pw", "INBOX", msg(100))
        page = self.messages("INBOX", limit=1)
        self.assertEqual(page["messages"][0]["uid"], uid)
        s = page["messages"][0]
        self.assertEqual(s["subject"], "rest test 100")
        self.assertEqual(s["from"], [{"name": "Tess", "email": "t@example.org"}])
        self.assertEqual(s["preview"], "body of 100")
        self.assertEqual(s["date"], "2024-10-01T10:00:00+00:00")  # the Date header
        core, mail = "urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"
        _, _, sess = self.gw.json("GET", "/.well-known/jmap", headers=self.auth)
        acct = sess["primaryAccounts"][mail]
        body = {"using": [core, mail], "methodCalls": [[
            "Email/get", {"accountId": acct, "ids": [s["id"]], "properties": ["subject", "threadId"]},
            "0"]]}
        st, _, out = self.gw.json("POST", "/jmap/api", body, headers=self.auth)
        got = out["methodResponses"][0][1]["list"]
        self.assertEqual(got, [{"id": s["id"], "subject": "rest test 100",
                                "threadId": s["threadId"]}])

    def test_paging_consistent_while_mail_arrives(self):
        truth = sorted(self.uids("Paging"), reverse=True)
        seen, before, pages = [], None, 0
        while True:
            q_ = {"limit": 7}
            if before is not None:
                q_["before"] = before
            page = self.messages("Paging", **q_)
            seen += [m["uid"] for m in page["messages"]]
            pages += 1
            if pages == 2:  # new mail arrives in the middle of paging
                self.dovecot.append("alice", "alice-pw", "Paging", msg(200))
            before = page["nextBefore"]
            if before is None:
                break
        self.assertEqual(seen, truth)
        self.assertEqual(pages, 5)

    def test_huge_limit_clamped(self):
        page = self.messages("Paging", limit=10**12)
        self.assertEqual(len(page["messages"]), len(self.uids("Paging")))
        self.assertIsNone(page["nextBefore"])

    def test_bad_input(self):
        for path in ("/api/v1/mailboxes/INBOX/messages?before=abc",
                     "/api/v1/mailboxes/INBOX/messages?before=-1",
                     "/api/v1/mailboxes/INBOX/messages?limit=x",
                     "/api/v1/mailboxes/INBOX/messages?limit=0"):
            st, h, out = self.gw.json("GET", path, headers=self.auth)
            self.assertEqual(st, 400, (path, out))
            self.assertIn("application/problem+json", h["content-type"])
        st, h, out = self.gw.json("GET", "/api/v1/mailboxes/NoSuchFolder/messages",
                                  headers=self.auth)
        self.assertEqual(st, 404, out)
        self.assertEqual(out["status"], 404)
        st, _, _ = self.gw.json("GET", "/api/v1/mailboxes/INBOX/messages")
        self.assertEqual(st, 401)

    def test_non_ascii_folder(self):
        self.create("Entwürfe")
        self.create("Entwürfe/Ünïcode")
        self.dovecot.append("alice", "alice-pw", q(mutf7("Entwürfe/Ünïcode"))[1:-1], msg(300))
        box = self.mailbox("Entwürfe/Ünïcode")
        self.assertEqual(box["total"], 1)
        page = self.messages("Entwürfe/Ünïcode")
        self.assertEqual([m["subject"] for m in page["messages"]], ["rest test 300"])
        self.assertEqual(page["cursor"], box["cursor"])


if __name__ == "__main__":
    unittest.main()
