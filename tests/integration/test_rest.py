"""REST delta-sync API (issue 6) against a real Dovecot, with an independent
IMAP client (imaplib) changing folders between calls: every answer is
checked against what that client sees."""
import base64
import re
import sys
import unittest
import urllib.parse

from fixture import StackTestCase
import upstream
from upstream import requires


def msg(n, subject=None):
    subject = subject or f"rest test {n}"
    return (f"From: Tess <t@example.org>\r\nTo: alice@example.org\r\n"
            f"Subject: {subject}\r\nDate: Tue, 01 Oct 2024 10:00:00 +0000\r\n"
            f"Message-ID: <rest-{n}@example.org>\r\n\r\nbody of {n}\r\n").encode()


ATTACH = (b"From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>\r\nTo: alice@example.org\r\n"
          b"Subject: =?UTF-8?B?w6l0w6k=?= numbers\r\nDate: Wed, 02 Oct 2024 11:00:00 +0000\r\n"
          b"Message-ID: <attach-1@example.org>\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
          b"--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
          b"--b2\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
          b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 numbers.\r\n"
          b"--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
          b"<p>See the <b>numbers</b>.</p><script>x()</script>\r\n--b2--\r\n"
          b"--b1\r\nContent-Type: text/csv; name=\"q3.csv\"\r\n"
          b"Content-Disposition: attachment; filename=\"r\xc3\xa9sum\xc3\xa9.csv\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n\r\nYSxiCjEsMgo=\r\n--b1--\r\n")


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
        # 20,000 messages are written straight into Dovecot's maildir; by
        # APPEND (Cyrus) they would take minutes: those two tests need DOVECOT
        big = {"Big": 20000} if upstream.has("DOVECOT") else {}
        cls.dovecot.seed_corpus("alice", dict({"INBOX": 12, "Paging": 30}, **big))
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
    @requires("X-GUID")
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
        self.assertRegex(s["id"], "^[gh]")   # a GUID id: Dovecot has X-GUID (issue 12)
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

    @requires("DOVECOT")
    def test_list_cost_follows_page_not_folder(self):
        truth = sorted(self.uids("Big"), reverse=True)
        for before in (None, truth[10000]):
            start = len(self.gw.log_text())
            page = self.messages("Big", limit=20, **({"before": before} if before else {}))
            log = self.gw.log_text()[start:]
            first = 0 if before is None else 10001
            self.assertEqual([m["uid"] for m in page["messages"]], truth[first:first + 20])
            self.assertEqual(page["nextBefore"], truth[first + 19])
            sent = [l for l in log.splitlines() if 'msg="imap C"' in l]
            recv = sum(len(l) for l in log.splitlines() if 'msg="imap S"' in l)
            for l in sent:
                self.assertNotIn("SEARCH ALL", l)
                self.assertNotIn("UID 1:", l)
            # 20,000 UIDs in a SEARCH answer alone would be ~120 kB
            self.assertLess(recv, 60000, recv)

    def test_first_page_by_sequence_over_gaps(self):
        # the newest page is one FETCH by sequence number from the EXAMINE's
        # EXISTS (issue 19): over expunged UIDs it still holds the highest
        # UIDs, nextBefore chains every message exactly once, and a page
        # that holds the whole folder is the last one
        uids = [self.dovecot.append("alice", "alice-pw", "Gaps", msg(300 + i)) for i in range(9)]
        m = self.imap()
        try:
            self.assertEqual(m.select("Gaps")[0], "OK")
            gone = ",".join(str(u) for u in (uids[1], uids[6], uids[7]))
            self.assertEqual(m.uid("STORE", gone, "+FLAGS", "(\\Deleted)")[0], "OK")
            self.assertEqual(m.expunge()[0], "OK")
        finally:
            m.logout()
        truth = sorted(self.uids("Gaps"), reverse=True)
        self.assertEqual(len(truth), 6)
        start = len(self.gw.log_text())
        page = self.messages("Gaps", limit=3)
        sent = [l for l in self.gw.log_text()[start:].splitlines() if 'msg="imap C"' in l]
        self.assertTrue([l for l in sent if "FETCH" in l], sent)
        self.assertFalse([l for l in sent if "SEARCH" in l], sent)
        self.assertEqual([x["uid"] for x in page["messages"]], truth[:3])
        self.assertEqual(page["nextBefore"], truth[2])
        self.assertEqual(page["total"], 6)
        rest = self.messages("Gaps", limit=3, before=page["nextBefore"])
        self.assertEqual([x["uid"] for x in rest["messages"]], truth[3:])
        self.assertIsNone(rest["nextBefore"])
        whole = self.messages("Gaps", limit=6)
        self.assertEqual([x["uid"] for x in whole["messages"]], truth)
        self.assertIsNone(whole["nextBefore"])
        five = self.messages("Gaps", limit=5)
        self.assertEqual(five["nextBefore"], truth[4])
        self.create("GapsEmpty")
        empty = self.messages("GapsEmpty")
        self.assertEqual((empty["messages"], empty["nextBefore"], empty["total"]), ([], None, 0))

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

    @requires("CONDSTORE")
    def test_non_ascii_folder(self):
        self.create("Entwürfe")
        self.create("Entwürfe/Ünïcode")
        self.dovecot.append("alice", "alice-pw", q(mutf7("Entwürfe/Ünïcode"))[1:-1], msg(300))
        box = self.mailbox("Entwürfe/Ünïcode")
        self.assertEqual(box["total"], 1)
        page = self.messages("Entwürfe/Ünïcode")
        self.assertEqual([m["subject"] for m in page["messages"]], ["rest test 300"])
        self.assertEqual(page["cursor"], box["cursor"])
        path = enc("Entwürfe/Ünïcode")
        uid = page["messages"][0]["uid"]
        self.assertEqual(self.get(f"/api/v1/mailboxes/{path}/messages/{uid}")["text"],
                         "body of 300\n")
        out = self.send("PATCH", f"/api/v1/mailboxes/{path}/messages/{uid}/flags",
                        {"add": ["\\Answered"]})
        self.assertEqual(out["flags"], ["\\Answered"])
        u2 = self.dovecot.append("alice", "alice-pw", q(mutf7("Entwürfe/Ünïcode"))[1:-1], msg(301))
        d = self.changes("Entwürfe/Ünïcode", box["cursor"])
        self.assertEqual([x["uid"] for x in d["added"]], [u2])
        self.assertEqual(d["flags"], [{"uid": uid, "flags": ["\\Answered"]}])
        out = self.send("POST", f"/api/v1/mailboxes/{path}/messages/{u2}/move", {"to": "Entwürfe"})
        self.assertEqual(out["mailbox"], "Entwürfe")
        self.assertEqual(list(self.uids("Entwürfe")), [out["uid"]])

    # -- 3. one message -----------------------------------------------------
    def test_message_detail_raw_and_attachment(self):
        uid = self.dovecot.append("alice", "alice-pw", "Detail", ATTACH, flags="\\Seen")
        base = f"/api/v1/mailboxes/Detail/messages/{uid}"
        d = self.get(base)
        self.assertEqual(d["uid"], uid)
        self.assertEqual(d["flags"], ["\\Seen"])
        self.assertEqual(d["headers"]["subject"], "été numbers")
        self.assertEqual(d["headers"]["from"], [{"name": "André", "email": "andre@example.org"}])
        self.assertEqual(d["headers"]["messageId"], ["attach-1@example.org"])
        self.assertEqual(d["text"], "Café numbers.")
        self.assertEqual(d["html"], "<p>See the <b>numbers</b>.</p><script>x()</script>")
        self.assertTrue(d["hasAttachment"])
        self.assertEqual(len(d["attachments"]), 1)
        a = d["attachments"][0]
        self.assertEqual((a["part"], a["name"], a["type"]), ("2", "résumé.csv", "text/csv"))
        self.assertEqual(a["url"], base + "/attachments/2")
        st, h, body = self.gw.request("GET", a["url"], headers=self.auth)
        self.assertEqual((st, body), (200, b"a,b\n1,2\n"))
        self.assertTrue(h["content-type"].startswith("text/csv"))
        self.assertIn("filename*=UTF-8''r%C3%A9sum%C3%A9.csv", h["content-disposition"])
        st, h, body = self.gw.request("GET", base + "/raw", headers=self.auth)
        self.assertEqual((st, h["content-type"]), (200, "message/rfc822"))
        self.assertEqual(body, ATTACH)
        # the JMAP blob id of the attachment downloads the same bytes
        _, _, sess = self.gw.json("GET", "/.well-known/jmap", headers=self.auth)
        acct = sess["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        url = "/jmap/download/%s/%s/x.csv?type=text/csv" % (acct, a["blobId"])
        st, _, body = self.gw.request("GET", url, headers=self.auth)
        self.assertEqual((st, body), (200, b"a,b\n1,2\n"))

    def test_message_bad_input(self):
        uid = max(self.uids("INBOX"))
        for path, status in ((f"/api/v1/mailboxes/INBOX/messages/abc", 400),
                             (f"/api/v1/mailboxes/INBOX/messages/0", 400),
                             (f"/api/v1/mailboxes/INBOX/messages/12x/raw", 400),
                             (f"/api/v1/mailboxes/INBOX/messages/99999999", 404),
                             (f"/api/v1/mailboxes/INBOX/messages/99999999/raw", 404),
                             (f"/api/v1/mailboxes/INBOX/messages/{uid}/attachments/9.9", 404),
                             (f"/api/v1/mailboxes/Nope/messages/{uid}", 404)):
            st, h, out = self.gw.json("GET", path, headers=self.auth)
            self.assertEqual(st, status, (path, out))
            self.assertEqual(out["status"], status)

    # -- 4. flags, move, delete ---------------------------------------------
    def send(self, method, path, body=None, status=200):
        st, _, out = self.gw.json(method, path, body, headers=self.auth)
        self.assertEqual(st, status, (method, path, out))
        return out

    def test_flags(self):
        uid = self.dovecot.append("alice", "alice-pw", "Flags", msg(800), flags="\\Seen")
        url = f"/api/v1/mailboxes/Flags/messages/{uid}/flags"
        out = self.send("PATCH", url, {"add": ["\\Flagged", "$Forwarded"], "remove": ["\\Seen"]})
        self.assertEqual(out["uid"], uid)
        self.assertEqual(sorted(out["flags"]), ["$Forwarded", "\\Flagged"])
        self.assertEqual(self.uids("Flags")[uid], ["$Forwarded", "\\Flagged"])
        out = self.send("PATCH", url, {"remove": ["$Forwarded"]})
        self.assertEqual(out["flags"], ["\\Flagged"])
        for bad in ({"add": ["\\Recent"]}, {"add": ["a b"]}, {"add": ["\\Foo"]},
                    {"add": "\\Seen"}, {"remove": [7]}, {"add": ["x)"]}):
            self.send("PATCH", url, bad, status=400)
        st, _, _ = self.gw.request("PATCH", url, body="{not json", headers=self.auth)
        self.assertEqual(st, 400)
        self.send("PATCH", "/api/v1/mailboxes/Flags/messages/999999/flags", {"add": ["x"]},
                  status=404)
        self.assertEqual(self.uids("Flags")[uid], ["\\Flagged"])

    @requires("MOVE", "UIDPLUS")
    def test_move_and_delete(self):
        self.create("Trash")
        self.create("Zielordner")
        u1 = self.dovecot.append("alice", "alice-pw", "Moving", msg(900))
        u2 = self.dovecot.append("alice", "alice-pw", "Moving", msg(901))
        # a message another client marked \Deleted must survive our removals
        u3 = self.dovecot.append("alice", "alice-pw", "Moving", msg(902), flags="\\Deleted")
        base = "/api/v1/mailboxes/Moving/messages"
        before = [m["id"] for m in self.messages("Moving")["messages"] if m["uid"] == u1]
        out = self.send("POST", f"{base}/{u1}/move", {"to": "Zielordner"})
        self.assertEqual(out["mailbox"], "Zielordner")
        self.assertEqual([out["id"]], before)      # the id survives the move
        self.assertEqual([m["id"] for m in self.messages("Zielordner")["messages"]
                          if m["uid"] == out["uid"]], before)
        self.assertIn(out["uid"], self.uids("Zielordner"))
        self.assertEqual(out["uidvalidity"], self.mailbox("Zielordner")["uidvalidity"])
        self.assertNotIn(u1, self.uids("Moving"))
        self.send("POST", f"{base}/{u2}/move", {"to": "Nowhere"}, status=404)
        # the one-write move (ib_guarded_move): a UID not there, a folder not there
        self.send("POST", f"{base}/99999/move", {"to": "Zielordner"}, status=404)
        self.send("POST", "/api/v1/mailboxes/Nirgends/messages/1/move", {"to": "Zielordner"},
                  status=404)
        self.assertEqual(len(self.uids("Zielordner")), 1)
        self.send("POST", f"{base}/{u2}/move", {"to": "Moving"}, status=400)
        self.send("POST", f"{base}/{u2}/move", {}, status=400)
        out = self.send("DELETE", f"{base}/{u2}")                       # to the Trash
        self.assertEqual(out["mailbox"], "Trash")
        self.assertIn(out["uid"], self.uids("Trash"))
        self.assertEqual(sorted(self.uids("Moving")), [u3])
        out = self.send("DELETE", f"/api/v1/mailboxes/Trash/messages/{out['uid']}")  # for good
        self.assertTrue(out["permanent"])
        self.assertEqual(self.uids("Trash"), {})
        u4 = self.dovecot.append("alice", "alice-pw", "Moving", msg(903))
        self.send("DELETE", f"{base}/{u4}?permanent=true")
        self.assertEqual(sorted(self.uids("Moving")), [u3])             # u3 untouched
        self.send("DELETE", f"{base}/{u4}", status=404)
        self.send("DELETE", f"{base}/abc", status=400)
        self.send("DELETE", f"{base}/{u3}?permanent=maybe", status=400)

    # -- 5. deltas --------------------------------------------------------
    def changes(self, path, cursor, status=200, **query):
        qs = urllib.parse.urlencode(dict(query, cursor=cursor))
        return self.get(f"/api/v1/mailboxes/{enc(path)}/changes?{qs}", status)

    def assert_delta(self, path, cursor, added=(), flags=None, removed=(), resync=False):
        """One delta against the ground truth; returns the new cursor."""
        d = self.changes(path, cursor)
        truth = self.uids(path)
        self.assertEqual(d["resync"], resync, d)
        self.assertEqual(sorted(m["uid"] for m in d["added"]), sorted(added), d)
        for m in d["added"]:
            self.assertEqual(sorted(m["flags"]), truth[m["uid"]])
        want_flags = {u: truth[u] for u in (flags or ())}
        self.assertEqual({f["uid"]: sorted(f["flags"]) for f in d["flags"]}, want_flags, d)
        self.assertEqual(sorted(d["removed"]), sorted(removed), d)
        self.assertEqual(d["total"], len(truth))
        self.assertFalse(d["hasMore"])
        self.assertEqual(d["cursor"], self.mailbox(path)["cursor"])
        return d["cursor"]

    @requires("CONDSTORE")
    def test_changes_follow_an_independent_client(self):
        for n in range(3):
            self.dovecot.append("alice", "alice-pw", "Delta", msg(400 + n))
        c0 = self.mailbox("Delta")["cursor"]
        c = self.assert_delta("Delta", c0)                       # nothing happened
        u1 = self.dovecot.append("alice", "alice-pw", "Delta", msg(410))
        c = self.assert_delta("Delta", c, added=[u1])           # append
        m = self.imap()
        try:
            m.select("Delta")
            uids = sorted(self.uids("Delta"))
            m.uid("STORE", str(uids[0]), "+FLAGS", "(\\Flagged $Forwarded)")
            c = self.assert_delta("Delta", c, flags=[uids[0]])  # flag
            m.uid("STORE", str(uids[1]), "+FLAGS", "(\\Deleted)")
            m.expunge()
            c = self.assert_delta("Delta", c, removed=[uids[1]])  # expunge
            self.create("Delta2")
            m.uid("MOVE", str(uids[2]), "Delta2")
            c = self.assert_delta("Delta", c, removed=[uids[2]])  # moved away
            c2 = self.mailbox("Delta2")["cursor"]
            m.select("Delta2")
            m.uid("MOVE", "1:*", "Delta")
            moved_in = max(self.uids("Delta"))
            c = self.assert_delta("Delta", c, added=[moved_in])   # moved in
            self.assert_delta("Delta2", c2, removed=[1])
            # several changes at once, from the first cursor
            d = self.changes("Delta", c0)
            truth = self.uids("Delta")
            self.assertEqual(sorted(x["uid"] for x in d["added"]), [u1, moved_in])
            self.assertEqual(sorted(d["removed"]), sorted([uids[1], uids[2]]))
            self.assertEqual([f["uid"] for f in d["flags"]], [uids[0]])
            self.assertEqual(sorted(d["flags"][0]["flags"]), truth[uids[0]])
        finally:
            m.logout()

    def test_changes_from_known_uids(self):
        """Without CONDSTORE a client sends the UIDs it knows; Dovecot has
        CONDSTORE, so this path is reached by sending known without a cursor."""
        us = [self.dovecot.append("alice", "alice-pw", "Known", msg(1000 + i)) for i in range(4)]
        m = self.imap()
        try:
            m.select("Known")
            m.uid("STORE", str(us[1]), "+FLAGS", "(\\Deleted)")
            m.expunge()
            m.uid("STORE", str(us[2]), "+FLAGS", "(\\Seen)")
        finally:
            m.logout()
        new = self.dovecot.append("alice", "alice-pw", "Known", msg(1010))
        known = f"{us[0]}:{us[2]},{us[3]}"
        qs = urllib.parse.urlencode({"known": known})
        d = self.get(f"/api/v1/mailboxes/Known/changes?{qs}")
        truth = self.uids("Known")
        self.assertFalse(d["resync"])
        self.assertEqual([x["uid"] for x in d["added"]], [new])
        self.assertEqual(d["removed"], [us[1]])
        self.assertEqual({f["uid"]: sorted(f["flags"]) for f in d["flags"]},
                         {u: truth[u] for u in (us[0], us[2], us[3])})
        self.assertEqual(d["cursor"], self.mailbox("Known")["cursor"])
        for bad in ("", "x", "1:", ":2", "1,,2", "0", "1:2:3", "5,", "99999999999"):
            qs = urllib.parse.urlencode({"known": bad})
            self.get(f"/api/v1/mailboxes/Known/changes?{qs}", status=400)

    def test_changes_uidvalidity_reset(self):
        self.dovecot.append("alice", "alice-pw", "Reset", msg(500))
        c = self.mailbox("Reset")["cursor"]
        m = self.imap()
        try:
            m.delete("Reset")
            m.create("Reset")
        finally:
            m.logout()
        self.dovecot.append("alice", "alice-pw", "Reset", msg(501))
        d = self.changes("Reset", c)
        self.assertTrue(d["resync"])
        self.assertEqual((d["added"], d["flags"], d["removed"]), ([], [], []))
        self.assertEqual(d["uidvalidity"], self.mailbox("Reset")["uidvalidity"])
        self.assertEqual(d["cursor"], self.mailbox("Reset")["cursor"])

    @requires("CONDSTORE")
    def test_changes_limit_and_has_more(self):
        self.dovecot.append("alice", "alice-pw", "Many", msg(600))
        c = self.mailbox("Many")["cursor"]
        new = [self.dovecot.append("alice", "alice-pw", "Many", msg(601 + i)) for i in range(5)]
        got = []
        for _ in range(5):
            d = self.changes("Many", c, limit=2)
            got += [m["uid"] for m in d["added"]]
            c = d["cursor"]
            if not d["hasMore"]:
                break
        self.assertEqual(sorted(got), new)
        self.assertEqual(self.changes("Many", c)["added"], [])

    @requires("CONDSTORE")
    def test_changes_limit_pages_flags_and_removals_too(self):
        """limit caps removed + flags + added together; paging loses nothing,
        also what changes while the client pages."""
        uids = [self.dovecot.append("alice", "alice-pw", "Pager", msg(700 + i)) for i in range(12)]
        c = self.mailbox("Pager")["cursor"]
        gone, flagged = uids[:4], uids[4:9]
        m = self.imap()
        try:
            m.select("Pager")
            m.uid("STORE", ",".join(map(str, flagged)), "+FLAGS", "(\\Flagged)")
            m.uid("STORE", ",".join(map(str, gone)), "+FLAGS", "(\\Deleted)")
            m.uid("EXPUNGE", ",".join(map(str, gone)))
            new = [self.dovecot.append("alice", "alice-pw", "Pager", msg(720 + i))
                   for i in range(3)]
            removed, flags, added, pages = [], {}, [], 0
            while True:
                d = self.changes("Pager", c, limit=2)
                self.assertFalse(d["resync"], d)
                self.assertLessEqual(len(d["removed"]) + len(d["flags"]) + len(d["added"]), 2)
                removed += d["removed"]
                flags.update({f["uid"]: f["flags"] for f in d["flags"]})
                added += [a["uid"] for a in d["added"]]
                c = d["cursor"]
                pages += 1
                if pages == 1:   # a change while the client pages
                    m.uid("STORE", str(flagged[0]), "+FLAGS", "(\\Answered)")
                if not d["hasMore"] or pages > 20:
                    break
        finally:
            m.logout()
        self.assertEqual(pages, 6)     # 4 removed + 5 flags + 3 added, two per page
        self.assertEqual(sorted(removed), gone)
        self.assertEqual(sorted(flags), flagged)
        self.assertEqual(sorted(added), new)
        # the change made while paging is not lost: it comes with the next call
        d = self.changes("Pager", c)
        self.assertIn(flagged[0], [f["uid"] for f in d["flags"]], d)
        self.assertIn("\\Answered", [f for f in d["flags"] if f["uid"] == flagged[0]][0]["flags"])

    @requires("CONDSTORE")
    def test_changes_bad_cursor(self):
        c = self.mailbox("INBOX")["cursor"]
        for bad in ("", "abc", "!!!", c[:-3], c[:10] + ("A" if c[10] != "A" else "B") + c[11:]):
            d = self.changes("INBOX", bad, status=400)
            self.assertEqual(d["status"], 400)
        other = self.mailbox("Paging")["cursor"]
        self.assertTrue(self.changes("INBOX", other)["resync"])  # another folder's cursor
        self.changes("NoSuchFolder", c, status=404)
        self.assertEqual(self.changes("INBOX", c, limit=10**9)["resync"], False)

    @requires("CONDSTORE", "DOVECOT")
    def test_changes_cost_follows_changes_not_folder(self):
        c = self.mailbox("Big")["cursor"]
        m = self.imap()
        try:
            m.select("Big")
            m.uid("STORE", "17", "+FLAGS", "(\\Flagged)")
        finally:
            m.logout()
        u = self.dovecot.append("alice", "alice-pw", "Big", msg(700))
        start = len(self.gw.log_text())
        d = self.changes("Big", c)
        log = self.gw.log_text()[start:]
        self.assertEqual([x["uid"] for x in d["added"]], [u])
        self.assertEqual([x["uid"] for x in d["flags"]], [17])
        sent = [l for l in log.splitlines() if 'msg="imap C"' in l]
        recv = [l for l in log.splitlines() if 'msg="imap S"' in l]
        self.assertTrue(sent, "no IMAP traffic logged")
        for l in sent:
            self.assertNotIn("SEARCH ALL", l)
            if re.search(r"FETCH 1:\*", l):
                self.assertIn("CHANGEDSINCE", l)
        # a UID FETCH of every message would be 20,000 lines (>1 MB)
        recv_bytes = sum(len(l) for l in recv)
        print(f"\nchanges on 20,000 messages, 2 changes: {len(sent)} IMAP writes, "
              f"{len(recv)} reads, {recv_bytes} log bytes received", file=sys.stderr)
        self.assertLess(recv_bytes, 20000, recv_bytes)
        self.assertLess(len(sent), 40)


class RestLimitedServerTest(StackTestCase):
    """Dovecot advertising CONDSTORE but neither QRESYNC, MOVE nor UIDPLUS
    (imap_capability): removals are seen only in the counts (resync), and
    nothing is ever removed by a plain EXPUNGE (409, nothing changes)."""
    USERS = {"alice": "alice-pw"}
    DOVECOT_KW = {"extra_conf": "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE "
                                "NAMESPACE CONDSTORE\n"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw")}

    get = RestTest.get
    imap = RestTest.imap
    uids = RestTest.uids
    mailbox = RestTest.mailbox
    changes = RestTest.changes
    create = RestTest.create

    def test_condstore_arithmetic(self):
        u = [self.dovecot.append("alice", "alice-pw", "Lim", msg(1100 + i)) for i in range(3)]
        c = self.mailbox("Lim")["cursor"]
        new = self.dovecot.append("alice", "alice-pw", "Lim", msg(1110))
        m = self.imap()
        try:
            m.select("Lim")
            m.uid("STORE", str(u[0]), "+FLAGS", "(\\Seen)")
            d = self.changes("Lim", c)
            self.assertFalse(d["resync"])
            self.assertEqual([x["uid"] for x in d["added"]], [new])
            self.assertEqual([f["uid"] for f in d["flags"]], [u[0]])
            self.assertEqual(d["removed"], [])
            c = d["cursor"]
            m.uid("STORE", str(u[1]), "+FLAGS", "(\\Deleted)")
            m.expunge()
        finally:
            m.logout()
        d = self.changes("Lim", c)
        self.assertTrue(d["resync"])      # which one went cannot be told without QRESYNC
        self.assertEqual(d["cursor"], self.mailbox("Lim")["cursor"])

    def test_no_plain_expunge(self):
        self.create("Trash")
        keep = self.dovecot.append("alice", "alice-pw", "Lim2", msg(1200), flags="\\Deleted")
        u = self.dovecot.append("alice", "alice-pw", "Lim2", msg(1201))
        base = "/api/v1/mailboxes/Lim2/messages"
        for method, path, body in (("DELETE", f"{base}/{u}", None),
                                   ("DELETE", f"{base}/{u}?permanent=true", None),
                                   ("POST", f"{base}/{u}/move", {"to": "Trash"})):
            st, h, out = self.gw.json(method, path, body, headers=self.auth)
            self.assertEqual(st, 409, (method, path, out))
            self.assertIn("application/problem+json", h["content-type"])
        self.assertEqual(sorted(self.uids("Lim2")), [keep, u])
        self.assertEqual(self.uids("Trash"), {})


class RestNoCondstoreTest(StackTestCase):
    """Dovecot advertising no CONDSTORE: a cursor alone cannot tell what
    changed (resync), the client's known UIDs can."""
    USERS = {"alice": "alice-pw"}
    DOVECOT_KW = {"extra_conf": "imap_capability = IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE "
                                "NAMESPACE UIDPLUS MOVE\n"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw")}

    get = RestTest.get
    imap = RestTest.imap
    uids = RestTest.uids
    mailbox = RestTest.mailbox
    changes = RestTest.changes

    def test_cursor_resyncs_known_diffs(self):
        u = [self.dovecot.append("alice", "alice-pw", "NoCs", msg(1300 + i)) for i in range(3)]
        box = self.mailbox("NoCs")
        self.assertNotIn("highestModseq", box)
        new = self.dovecot.append("alice", "alice-pw", "NoCs", msg(1310))
        d = self.changes("NoCs", box["cursor"])
        self.assertTrue(d["resync"])
        self.assertEqual((d["added"], d["flags"], d["removed"]), ([], [], []))
        m = self.imap()
        try:
            m.select("NoCs")
            m.uid("STORE", str(u[2]), "+FLAGS", "(\\Deleted)")
            m.expunge()
        finally:
            m.logout()
        d = self.changes("NoCs", box["cursor"], known=f"{u[0]}:{u[2]}")
        self.assertFalse(d["resync"])
        self.assertEqual([x["uid"] for x in d["added"]], [new])
        self.assertEqual(d["removed"], [u[2]])
        self.assertEqual(sorted(f["uid"] for f in d["flags"]), u[:2])


if __name__ == "__main__":
    unittest.main()
