"""The gateway against a bare RFC 3501 server: Dovecot with its CAPABILITY
cut to IMAP4rev1 + IDLE (profile 'bare') and without IDLE ('bare-noidle'),
a greeting that does not name Dovecot (so no X-GUID) and no ID answer.

Dovecot still executes the commands it no longer advertises (checked in
test_hidden_commands_still_run), so the gateway's side goes through a
recording proxy (tests/support/cmdlog.py) and the last test of each class
checks that every command it sent was advertised.

What this profile tests for real: the REST delta with known= (no
CONDSTORE) and its exactness, Email/changes -> cannotCalculateChanges,
Mailbox/changes without CONDSTORE, location ids ("e...") and a move behind
the gateway's back seen as a new id, moves and removals refused without
MOVE/UIDPLUS (nothing lost), sort and search without SORT/ESEARCH, threads
without THREAD, push by IDLE (bare) and by STATUS polling (bare-noidle).
Ground truth is imaplib on the same server."""
import email.utils
import json
import socket
import re
import sys
import time
import unittest
from urllib.parse import quote

from cmdlog import CommandLog, unadvertised
from fixture import Dovecot, Gateway, close_all, wait_for
from jmapclient import JmapClient

USER, PW = "alice", "alice-pw"
HIDDEN = ("CONDSTORE", "QRESYNC", "MOVE", "UIDPLUS", "SPECIAL-USE", "LIST-STATUS", "ESEARCH",
          "SORT", "THREAD=REFERENCES", "NOTIFY", "NAMESPACE", "UNSELECT", "PREVIEW")
# Subjects in arrival order; sorted by subject they are not in UID order.
SUBJECTS = ("pear", "apple", "Re: apple", "mango", "banana", "cherry")


def message(i, subject, parent=None, sender="ann"):
    date = email.utils.formatdate(1700000000 + (len(SUBJECTS) - i) * 3600)   # newest first
    refs = "In-Reply-To: <bare-%d@example.org>\r\nReferences: <bare-%d@example.org>\r\n" % (
        parent, parent) if parent is not None else ""
    return ("From: <%s@example.org>\r\nTo: alice@example.org\r\nSubject: %s\r\n"
            "Date: %s\r\nMessage-ID: <bare-%d@example.org>\r\n%s\r\nbody of %s %s\r\n"
            % (sender, subject, date, i, refs, subject, "needle" if i % 2 else "hay")).encode()


def uids(m, box):
    m.select(box)
    typ, data = m.uid("SEARCH", None, "ALL")
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


class BareCases:
    """The tests; a subclass names PROFILE and mixes in unittest.TestCase."""
    PROFILE = None
    POLL = 1          # JMAPGATE_PUSH_POLL_INTERVAL, seconds

    @classmethod
    def setUpClass(cls):
        cls.dv = cls.gw = cls.proxy = None
        try:
            cls.dv = Dovecot(users={USER: PW}, profile=cls.PROFILE).start()
            for i, subject in enumerate(SUBJECTS):
                cls.dv.append(USER, PW, "INBOX", message(i, subject, 1 if subject == "Re: apple" else None))
            cls.proxy = CommandLog(cls.dv.plain_port)
            cls.gw = Gateway("imap://127.0.0.1:%d" % cls.proxy.port,
                             env={"JMAPGATE_PUSH_POLL_INTERVAL": str(cls.POLL),
                                  "JMAPGATE_WATCH_GRACE": "1"})
            cls.gw.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.client = JmapClient(cls.gw, USER, PW)
        cls.auth, cls.acct = cls.client.auth, cls.client.account

    @classmethod
    def tearDownClass(cls):
        close_all(cls.gw, cls.proxy, cls.dv)

    def side(self):
        m = self.dv.imap(USER, PW)
        self.addCleanup(m.logout)
        return m

    def caps(self):
        m = self.side()
        typ, data = m.capability()
        return data[0].decode().split()

    def call(self, name, args):
        return self.client.responses([name, dict(args, accountId=self.acct)])[0]

    def ok(self, name, args):
        resp = self.call(name, args)
        self.assertEqual(resp[0], name, resp)
        return resp[1]

    def mailbox_id(self, role):
        boxes = self.ok("Mailbox/get", {"ids": None})["list"]
        return next(b["id"] for b in boxes if b["role"] == role)

    def rest(self, method, path, obj=None):
        return self.gw.json(method, path, obj, headers=self.auth)

    # -- the server ------------------------------------------------------
    def test_capabilities_cut(self):
        caps = self.caps()
        for c in HIDDEN:
            self.assertNotIn(c, caps)
        self.assertEqual("IDLE" in caps, self.PROFILE == "bare")
        with socket_greeting(self.dv) as greeting:
            self.assertNotIn("Dovecot", greeting)

    def test_hidden_commands_still_run(self):
        """Dovecot 2.3.19 does not refuse what it no longer advertises."""
        m = self.side()
        self.assertEqual(m._simple_command("ENABLE", "QRESYNC")[0], "OK")
        typ, data = m.status("INBOX", "(HIGHESTMODSEQ)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"HIGHESTMODSEQ", data[0])
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", "1", "(X-GUID)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"X-GUID", data[0])

    # -- REST delta --------------------------------------------------------
    def test_rest_delta_known_exact(self):
        m = self.side()
        m.create("Delta")
        for i in range(5):
            self.dv.append(USER, PW, "Delta", message(100 + i, "delta %d" % i, sender="bob"))
        st, _, page = self.rest("GET", "/api/v1/mailboxes/Delta/messages")
        self.assertEqual(st, 200, page)
        held = sorted(x["uid"] for x in page["messages"])
        self.assertEqual(held, uids(m, "Delta"))
        cursor = page["cursor"]
        # Behind the gateway's back: flag one, expunge one, add one.
        m.uid("STORE", str(held[1]), "+FLAGS", "(\\Flagged)")
        m.uid("STORE", str(held[2]), "+FLAGS", "(\\Deleted)")
        m.expunge()
        self.dv.append(USER, PW, "Delta", message(200, "delta new", sender="bob"))
        new_uid = max(uids(m, "Delta"))
        base = "/api/v1/mailboxes/Delta/changes?cursor=" + quote(cursor)
        st, _, d = self.rest("GET", base)
        self.assertEqual(st, 200, d)
        self.assertTrue(d["resync"], "no CONDSTORE and no known=: the gateway cannot tell")
        known = ",".join(str(u) for u in held)
        st, _, d = self.rest("GET", base + "&known=" + quote(known))
        self.assertEqual(st, 200, d)
        self.assertFalse(d["resync"], d)
        self.assertEqual([a["uid"] for a in d["added"]], [new_uid])
        self.assertEqual(d["added"][0]["subject"], "delta new")
        self.assertEqual(d["removed"], [held[2]])
        flags = {f["uid"]: f["flags"] for f in d["flags"]}
        self.assertEqual(sorted(flags), sorted(set(held) - {held[2]}))
        self.assertIn("\\Flagged", flags[held[1]])
        self.assertNotIn("\\Flagged", flags[held[0]])
        # The new cursor with the new known set: nothing changed.
        now = sorted(set(held) - {held[2]}) + [new_uid]
        st, _, d2 = self.rest("GET", "/api/v1/mailboxes/Delta/changes?cursor=" + quote(d["cursor"])
                              + "&known=" + quote(",".join(map(str, now))))
        self.assertEqual((st, d2["added"], d2["removed"], d2["resync"]), (200, [], [], False))

    # -- JMAP changes ------------------------------------------------------
    def test_email_changes_cannot_calculate_mailbox_changes_can(self):
        state = self.ok("Email/get", {"ids": []})["state"]
        mstate = self.ok("Mailbox/get", {"ids": None})["state"]
        self.dv.append(USER, PW, "INBOX", message(300, "changes", sender="bob"))
        self.side().create("Fresh")
        resp = self.call("Email/changes", {"sinceState": state})
        self.assertEqual(resp[0], "error", resp)
        self.assertEqual(resp[1]["type"], "cannotCalculateChanges")
        ch = self.ok("Mailbox/changes", {"sinceState": mstate})
        boxes = {b["id"]: b["name"] for b in self.ok("Mailbox/get", {"ids": None})["list"]}
        self.assertEqual([boxes[i] for i in ch["created"]], ["Fresh"])
        self.assertIn(self.mailbox_id("inbox"), ch["updated"])
        self.assertEqual(ch["destroyed"], [])

    def test_flag_change_alone_is_not_missed(self):
        """Without CONDSTORE a flag change moves no count: the state vector
        stays equal, so Email/changes cannot say "nothing changed"."""
        m = self.side()
        state = self.ok("Email/get", {"ids": []})["state"]
        st, _, page = self.rest("GET", "/api/v1/mailboxes/INBOX/messages")
        held = sorted(x["uid"] for x in page["messages"])
        m.select("INBOX")
        m.uid("STORE", str(held[0]), "+FLAGS", "($Bare)")
        self.assertEqual(self.ok("Email/get", {"ids": []})["state"], state)
        resp = self.call("Email/changes", {"sinceState": state})
        self.assertEqual((resp[0], resp[1].get("type")), ("error", "cannotCalculateChanges"), resp)
        st, _, d = self.rest("GET", "/api/v1/mailboxes/INBOX/changes?cursor=%s&known=%s"
                             % (quote(page["cursor"]), quote(",".join(map(str, held)))))
        self.assertEqual(st, 200, d)
        flags = {f["uid"]: f["flags"] for f in d["flags"]}
        self.assertIn("$Bare", flags[held[0]])
        self.assertEqual((d["added"], d["removed"]), ([], []))
        m.uid("STORE", str(held[0]), "-FLAGS", "($Bare)")

    # -- ids and moves -----------------------------------------------------
    def inbox_email(self, subject):
        r = self.ok("Email/query", {"filter": {"inMailbox": self.mailbox_id("inbox"),
                                               "subject": subject}})
        self.assertEqual(len(r["ids"]), 1, r)
        return r["ids"][0]

    def test_location_ids_and_a_move_behind_the_back(self):
        m = self.side()
        self.dv.append(USER, PW, "INBOX", message(400, "wanderer", sender="bob"))
        eid = self.inbox_email("wanderer")
        self.assertTrue(eid.startswith("e"), eid)        # no GUID: a location id
        uid = max(uids(m, "INBOX"))
        m.uid("COPY", str(uid), "Archive")
        m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
        m.expunge()
        got = self.ok("Email/get", {"ids": [eid], "properties": ["subject"]})
        self.assertEqual((got["list"], got["notFound"]), ([], [eid]))
        r = self.ok("Email/query", {"filter": {"inMailbox": self.mailbox_id("archive"),
                                               "subject": "wanderer"}})
        self.assertEqual(len(r["ids"]), 1)
        self.assertNotEqual(r["ids"][0], eid)             # destroyed + created, not updated

    def test_moves_and_removals_refused_nothing_lost(self):
        m = self.side()
        before = {box: uids(m, box) for box in ("INBOX", "Archive", "Trash")}
        eid = self.inbox_email("mango")
        resp = self.ok("Email/set", {"update": {eid: {"mailboxIds": {self.mailbox_id("archive"): True}}},
                                     "destroy": [eid]})
        self.assertEqual(resp["notUpdated"][eid]["type"], "forbidden", resp)
        self.assertEqual(resp["notDestroyed"][eid]["type"], "forbidden", resp)
        self.assertIn("UIDPLUS", resp["notDestroyed"][eid]["description"])
        uid = before["INBOX"][SUBJECTS.index("mango")]
        for path, obj in (("/move", {"to": "Archive"}), ("", None), ("?permanent=true", None)):
            method = "POST" if path == "/move" else "DELETE"
            st, hdrs, problem = self.rest(method, "/api/v1/mailboxes/INBOX/messages/%d%s" % (uid, path), obj)
            self.assertEqual(st, 409, (path, problem))
            self.assertTrue(hdrs["content-type"].startswith("application/problem+json"), hdrs)
            self.assertEqual(problem["status"], 409)
        after = {box: uids(m, box) for box in before}
        self.assertEqual(after, before)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", str(uid), "(FLAGS)")
        self.assertNotIn(b"\\Deleted", data[0])

    def test_create_and_upload_without_uidplus(self):
        """APPEND cannot name its new message without UIDPLUS (APPENDUID):
        Email/set create is refused and nothing is appended."""
        m = self.side()
        drafts = self.mailbox_id("drafts")
        before = uids(m, "Drafts")
        resp = self.ok("Email/set", {"create": {"d1": {
            "mailboxIds": {drafts: True}, "keywords": {"$draft": True}, "subject": "draft",
            "from": [{"email": "alice@example.org"}], "bodyValues": {"b": {"value": "hi"}},
            "textBody": [{"partId": "b", "type": "text/plain"}]}}})
        self.assertEqual(resp["notCreated"]["d1"]["type"], "forbidden", resp)
        self.assertEqual(uids(m, "Drafts"), before)
        st, hdrs, body = self.gw.request("POST", "/jmap/upload/%s/" % self.acct, b"hello",
                                         headers=dict(self.auth, **{"Content-Type": "text/plain"}))
        self.assertEqual(st, 403, body)             # blobs are parked by APPEND too
        self.assertIn("UIDPLUS", json.loads(body)["detail"])

    # -- sort, search, threads ----------------------------------------------
    def test_sort_search_threads_without_extensions(self):
        inbox = self.mailbox_id("inbox")
        flt = {"inMailbox": inbox, "from": "ann@example.org", "subject": "a"}
        for sort, expect in (
                ([{"property": "subject", "isAscending": True}], sorted(
                    (s for s in SUBJECTS if "a" in s), key=lambda s: re.sub(r"^re: ", "", s.lower()))),
                ([{"property": "sentAt", "isAscending": True}],
                 [s for s in reversed(SUBJECTS) if "a" in s]),
                ([{"property": "from", "isAscending": False}, {"property": "sentAt", "isAscending": False}],
                 [s for s in SUBJECTS if "a" in s])):
            r = self.ok("Email/query", {"filter": flt, "sort": sort})
            got = self.ok("Email/get", {"ids": r["ids"], "properties": ["subject"]})["list"]
            self.assertEqual([g["subject"] for g in got], expect, sort)
        r = self.ok("Email/query", {"filter": {"inMailbox": inbox, "body": "needle"}})
        got = self.ok("Email/get", {"ids": r["ids"], "properties": ["subject"]})["list"]
        self.assertEqual(sorted(g["subject"] for g in got), sorted(SUBJECTS[i] for i in (1, 3, 5)))
        ids = [self.ok("Email/query", {"filter": {"header": ["Message-ID", "<bare-%d@example.org>" % i]}})
               ["ids"][0] for i in (1, 2, 0)]                        # apple, Re: apple, pear
        got = self.ok("Email/get", {"ids": ids, "properties": ["threadId"]})["list"]
        self.assertEqual(got[0]["threadId"], got[1]["threadId"])
        self.assertNotEqual(got[0]["threadId"], got[2]["threadId"])

    # -- push --------------------------------------------------------------
    def test_push_new_mail(self):
        s = self.gw.sse("/api/v1/events?mailbox=INBOX", headers=self.auth)
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        if self.PROFILE == "bare":
            self.assertTrue(wait_for(lambda: self.gw.metric("jmapgate_push_idle_connections"), 5))
        else:
            self.assertTrue(wait_for(lambda: self.gw.metric("jmapgate_push_polled_folders"), 5))
            self.assertEqual(self.gw.metric("jmapgate_push_idle_connections"), 0)
        jm = self.gw.sse("/jmap/eventsource?types=*&closeafter=no&ping=0", headers=self.auth)
        self.addCleanup(jm.close)
        self.assertEqual(jm.status, 200)
        s.events(10, 1.0)                      # whatever the streams said on opening
        jm.events(10, 0.2)
        t0 = time.monotonic()
        self.dv.append(USER, PW, "INBOX", message(500, "pushed", sender="bob"))
        ev = None
        while ev is None and time.monotonic() - t0 < 10:
            evs = s.events(1, 10 - (time.monotonic() - t0))
            if evs and evs[0].get("event") == "changed" and json.loads(evs[0]["data"])["reason"] == "new":
                ev = evs[0]
        delay = time.monotonic() - t0
        self.assertIsNotNone(ev, "no push within 10 s")
        sys.stderr.write("push delay on %s: %.2f s\n" % (self.PROFILE, delay))
        self.assertLess(delay, 3.0 if self.PROFILE == "bare" else self.POLL + 3.0)
        state, t1 = None, time.monotonic()
        while state is None and time.monotonic() - t1 < 5:
            evs = jm.events(1, 5 - (time.monotonic() - t1))
            state = evs[0] if evs and evs[0].get("event") == "state" else None
        self.assertIsNotNone(state, "no JMAP StateChange for the new message")
        changed = json.loads(state["data"])["changed"][self.acct]
        self.assertIn("Email", changed)

    # -- last: every command the gateway sent was advertised ---------------
    def test_z_only_advertised_commands(self):
        # A little of everything once more, so the check does not depend on
        # the other tests having run.
        self.rest("GET", "/api/v1/mailboxes")
        st, _, page = self.rest("GET", "/api/v1/mailboxes/INBOX/messages")
        self.rest("GET", "/api/v1/mailboxes/INBOX/messages/%d" % page["messages"][0]["uid"])
        self.rest("PATCH", "/api/v1/mailboxes/INBOX/messages/%d/flags" % page["messages"][0]["uid"],
                  {"add": ["\\Seen"]})
        self.ok("Email/query", {"sort": [{"property": "subject"}], "collapseThreads": True})
        lines = []
        for conn in self.proxy.connections():
            lines += without_login_batch(conn)
        used = {l.split(" ", 2)[1].upper() for l in lines}
        self.assertLessEqual({"LOGIN", "UID", "EXAMINE", "SELECT", "STATUS", "LIST"}, used)
        self.assertEqual(unadvertised(lines, self.caps()), [])

    def test_checker_catches_hidden_commands(self):
        """The checker of test_z_only_advertised_commands can fail."""
        lines = ["a1 UID MOVE 4 Archive", "a2 ENABLE CONDSTORE QRESYNC", "a3 UID FETCH 1:* (FLAGS) "
                 "(CHANGEDSINCE 5 VANISHED)", "a4 LIST \"\" \"*\" RETURN (STATUS (MESSAGES))",
                 "a5 UID SEARCH X-GUID abc", "a6 UID SORT (SUBJECT) UTF-8 ALL", "a7 IDLE",
                 "a8 UID FETCH 1 (UID FLAGS)"]
        got = unadvertised(lines, ["IMAP4rev1", "ENABLE"])
        self.assertEqual({line[:2] for line, _ in got}, {"a%d" % i for i in range(1, 8)})
        self.assertIn(("a2 ENABLE CONDSTORE QRESYNC", "QRESYNC"), got)


def without_login_batch(conn):
    """A connection's commands without the ENABLE CONDSTORE QRESYNC and
    NAMESPACE written in the login's own write: they go out before the
    post-login CAPABILITY is known (one round trip instead of two, see
    ib_session.c), and what they enable is used only when also offered."""
    out = list(conn)
    login = next((i for i, l in enumerate(out) if l.split(" ", 2)[1:2] == ["LOGIN"]), None)
    if login is not None:
        batch = out[login + 1:login + 4]        # [ID] ENABLE NAMESPACE
        keep = [l for l in batch if l.split(" ", 1)[1] not in ("ENABLE CONDSTORE QRESYNC", "NAMESPACE")]
        out[login + 1:login + 4] = keep
    return out


class socket_greeting:
    """with socket_greeting(dovecot) as line: the server's greeting."""

    def __init__(self, dv):
        self.sock = socket.create_connection((dv.host, dv.plain_port), timeout=10)

    def __enter__(self):
        return self.sock.makefile("rb").readline().decode()

    def __exit__(self, *exc):
        self.sock.close()


class BareTest(BareCases, unittest.TestCase):
    PROFILE = "bare"


class BareNoIdleTest(BareCases, unittest.TestCase):
    PROFILE = "bare-noidle"


if __name__ == "__main__":
    unittest.main()
