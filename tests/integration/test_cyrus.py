"""The gateway against Cyrus IMAP 3.6 (tests/support/cyrus.py): the
upstream with RFC 8474 OBJECTID (MAILBOXID, EMAILID, THREADID), METADATA
and no NOTIFY or X-GUID. Ground truth is imaplib on the same server.

What only Cyrus exercises: Mailbox ids from MAILBOXID (Cyrus 3.6.1 sends
pointer bytes for MAILBOXID beside other LIST-STATUS items, so the gateway
asks for it in a LIST-STATUS of its own), Email ids from EMAILID, moves that
keep them, and a cold instance locating a moved email by UID SEARCH EMAILID.
Skipped with the reason when Cyrus is not unpacked (scripts/install-deps)."""
import base64
import re
import unittest

import cyrus
from fixture import Gateway, close_all
from jmapclient import JmapClient

OK, WHY = cyrus.available()


def emailid_of(email_id):
    assert email_id[0] == "g", email_id
    return base64.urlsafe_b64decode(email_id[1:] + "=" * (-len(email_id[1:]) % 4)).decode()


@unittest.skipUnless(OK, WHY)
class CyrusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cy = cls.gw = None
        try:
            cls.cy = cyrus.Cyrus(users={"alice": "alice-pw"}).start()
            cls.cy.seed_corpus("alice", {"INBOX": 15, "Archive": 5})
            cls.gw = Gateway(cls.cy.url)
            cls.gw.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.client = JmapClient(cls.gw, "alice", "alice-pw")
        cls.acct = cls.client.account

    @classmethod
    def tearDownClass(cls):
        close_all(cls.gw, cls.cy)

    def call(self, *calls, gw=None):
        return self.client.call(*calls, gw=gw)

    def boxes(self, gw=None):
        r = self.call(["Mailbox/get", {"accountId": self.acct}], gw=gw)
        return {m["name"]: m for m in r["list"]}

    def imap(self):
        m = self.cy.imap("alice", "alice-pw")
        self.addCleanup(m.logout)
        return m

    def mailboxid(self, m, name):
        typ, data = m.status(name, "(MAILBOXID)")
        return re.search(rb"MAILBOXID \(([^)]+)\)", data[0]).group(1).decode()

    def test_mailbox_ids_are_stable_and_come_from_mailboxid(self):
        first, second = self.boxes(), self.boxes()
        self.assertEqual({k: v["id"] for k, v in first.items()},
                         {k: v["id"] for k, v in second.items()})
        self.assertEqual(len({v["id"] for v in first.values()}), len(first))   # all distinct
        self.assertEqual(first["INBOX"]["totalEmails"], 15)
        self.assertEqual(first["Sent"]["role"], "sent")
        # renamed behind the gateway's back: the same id (MAILBOXID follows)
        m = self.imap()
        self.assertEqual(m.create("Temp")[0], "OK")
        tid = self.boxes()["Temp"]["id"]
        self.assertEqual(m.rename("Temp", "Temp2")[0], "OK")
        self.assertEqual(self.boxes()["Temp2"]["id"], tid)
        m.delete("Temp2")

    def test_email_ids_come_from_emailid_and_survive_a_move(self):
        box = self.boxes()
        r = self.call(["Email/query", {"accountId": self.acct, "filter": {"inMailbox": box["Archive"]["id"]}}])
        ids = r["ids"]
        self.assertEqual(len(ids), 5)
        m = self.imap()
        m.select("Archive", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(EMAILID)")
        truth = {int(re.search(rb"UID (\d+)", d).group(1)):
                 re.search(rb"EMAILID \(([^)]+)\)", d).group(1).decode() for d in data if d}
        self.assertEqual({emailid_of(i) for i in ids}, set(truth.values()))
        # the folder's highest UID: once it is gone, "1:*" ends below it and
        # Cyrus rightly leaves it out of VANISHED (EARLIER) (the gateway
        # asks for 1:4294967295)
        eid = next(i for i in ids if emailid_of(i) == truth[max(truth)])
        s0 = self.call(["Email/get", {"accountId": self.acct, "ids": []}])["state"]
        r = self.call(["Email/set", {"accountId": self.acct, "update": {
            eid: {"mailboxIds": {box["Trash"]["id"]: True}}}}])
        self.assertIn(eid, r["updated"], r)
        got = self.call(["Email/get", {"accountId": self.acct, "ids": [eid],
                                       "properties": ["mailboxIds"]}])
        self.assertEqual(got["list"][0]["mailboxIds"], {box["Trash"]["id"]: True})
        ch = self.call(["Email/changes", {"accountId": self.acct, "sinceState": s0}])
        self.assertEqual((ch["created"], ch["updated"], ch["destroyed"]), ([], [eid], []), ch)
        # moved back by another client; a cold instance finds it by EMAILID
        m.select("Trash")
        m.uid("MOVE", "1:*", "Archive")
        cold = Gateway(self.cy.url, secret=self.gw.secret)
        cold.start()
        self.addCleanup(cold.close)
        got = self.call(["Email/get", {"accountId": self.acct, "ids": [eid],
                                       "properties": ["mailboxIds", "subject"]}], gw=cold)
        self.assertEqual(got["notFound"], [], got)
        self.assertEqual(got["list"][0]["mailboxIds"], {box["Archive"]["id"]: True})

    def test_sort_order_kept_in_metadata(self):
        state0 = self.call(["Mailbox/get", {"accountId": self.acct, "ids": []}])["state"]
        archive = self.boxes()["Archive"]["id"]
        r = self.call(["Mailbox/set", {"accountId": self.acct,
                                       "update": {archive: {"sortOrder": 4}}}])
        self.assertIn(archive, r["updated"], r)
        self.assertEqual(self.boxes()["Archive"]["sortOrder"], 4)
        ch = self.call(["Mailbox/changes", {"accountId": self.acct, "sinceState": state0}])
        self.assertEqual(ch["updated"], [archive], ch)
        m = self.imap()
        typ, _ = m.xatom("GETMETADATA", '""', "(/private/vendor/jmapgate/sortorder)")
        self.assertEqual(typ, "OK")
        self.assertIn(("%s=4" % archive).encode(), b"".join(
            d if isinstance(d, bytes) else b"".join(d) for d in m.untagged_responses["METADATA"]))
        r = self.call(["Mailbox/set", {"accountId": self.acct,
                                       "update": {archive: {"sortOrder": 0}}}])
        self.assertIn(archive, r["updated"], r)
        self.assertEqual(self.boxes()["Archive"]["sortOrder"], 0)

    def test_threads_come_from_threadid(self):
        parent = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Trip plan qzt\r\n"
                  b"Message-ID: <plan-qzt@example.org>\r\nReferences: <root-qzt@example.org>\r\n"
                  b"Date: Tue, 01 Oct 2024 10:00:00 +0000\r\n\r\nparent\r\n")
        # the real-mail case of issue 12: In-Reply-To only, in another folder
        reply = (b"From: b@example.org\r\nTo: a@example.org\r\nSubject: Re: Trip plan qzt\r\n"
                 b"Message-ID: <reply-qzt@example.org>\r\nIn-Reply-To: <plan-qzt@example.org>\r\n"
                 b"Date: Tue, 01 Oct 2024 11:00:00 +0000\r\n\r\nreply\r\n")
        self.cy.append("alice", "alice-pw", "INBOX", parent)
        self.cy.append("alice", "alice-pw", "Sent", reply)
        q = self.call(["Email/query", {"accountId": self.acct, "filter": {"subject": "qzt"}}],
                      ["Email/get", {"accountId": self.acct, "properties": ["threadId", "subject"],
                                     "#ids": {"resultOf": "0", "name": "Email/query",
                                              "path": "/ids"}}])
        got = {e["subject"]: e for e in q[1]["list"]}
        self.assertEqual(len(got), 2, q)
        tid = got["Trip plan qzt"]["threadId"]
        self.assertEqual(got["Re: Trip plan qzt"]["threadId"], tid)
        # it is the server's THREADID, as imaplib sees it
        m = self.imap()
        m.select("INBOX", readonly=True)
        typ, data = m.uid("SEARCH", "HEADER", "Message-ID", "plan-qzt")
        typ, data = m.uid("FETCH", data[0].split()[-1], "(THREADID)")
        server_tid = re.search(rb"THREADID \(([^)]+)\)", data[0]).group(1)
        self.assertEqual(base64.urlsafe_b64decode(tid[1:] + "=" * (-len(tid[1:]) % 4)),
                         server_tid)
        # Thread/get finds both, oldest first, on a cold instance too
        ids = [got["Trip plan qzt"]["id"], got["Re: Trip plan qzt"]["id"]]
        cold = Gateway(self.cy.url, secret=self.gw.secret)
        cold.start()
        self.addCleanup(cold.close)
        for gw in (self.gw, cold):
            t = self.call(["Thread/get", {"accountId": self.acct, "ids": [tid]}], gw=gw)
            self.assertEqual(t["list"], [{"id": tid, "emailIds": ids}], t)
        # collapseThreads keeps one of the two (they are one thread)
        c = self.call(["Email/query", {"accountId": self.acct, "filter": {"subject": "qzt"},
                                       "collapseThreads": True}])
        self.assertEqual(len(c["ids"]), 1, c)
        # REST summaries carry the same threadId
        for box, subject in (("INBOX", "Trip plan qzt"), ("Sent", "Re: Trip plan qzt")):
            st, _, page = self.gw.json("GET", "/api/v1/mailboxes/%s/messages?limit=50" % box,
                                       headers=self.client.auth)
            self.assertEqual(st, 200, page)
            mine = [x for x in page["messages"] if x["subject"] == subject]
            self.assertEqual([x["threadId"] for x in mine], [tid], page)
        t = self.call(["Thread/get", {"accountId": self.acct, "ids": ["s" + "x" * 10, "sIiI"]}])
        self.assertEqual(sorted(t["notFound"]), sorted(["s" + "x" * 10, "sIiI"]), t)

    def test_rest_pages_and_delta(self):
        st, _, out = self.gw.json("GET", "/api/v1/mailboxes", headers=self.client.auth)
        self.assertEqual(st, 200)
        inbox = [b for b in out["mailboxes"] if b["path"] == "INBOX"][0]
        st, _, page = self.gw.json("GET", "/api/v1/mailboxes/INBOX/messages?limit=5",
                                   headers=self.client.auth)
        self.assertEqual(st, 200, page)
        self.assertEqual(len(page["messages"]), 5)
        uid = self.cy.append("alice", "alice-pw", "INBOX", b"Subject: delta\r\n\r\nx\r\n")
        st, _, d = self.gw.json("GET", "/api/v1/mailboxes/INBOX/changes?cursor=" + inbox["cursor"],
                                headers=self.client.auth)
        self.assertEqual(st, 200, d)
        self.assertFalse(d["resync"], d)
        self.assertEqual([a["uid"] for a in d["added"]], [uid])


if __name__ == "__main__":
    unittest.main()
