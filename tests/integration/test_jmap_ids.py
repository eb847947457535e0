"""Stable Email ids (issue 12): ids from Dovecot's X-GUID survive moves made
by Email/set or by another IMAP client, any gateway instance finds them
(a second instance with a cold location cache searches by GUID), moves
show in Email/changes as updates, and a long random mix of JMAP and IMAP
changes leaves the JMAP view equal to what imaplib sees. imaplib, straight
to Dovecot, is the ground truth throughout.

IDS12_RANDOM_OPS sets the length of the random run (default 1000)."""
import base64
import os
import random
import re
import time
import unittest

from fixture import Gateway, StackTestCase
from latencyproxy import LatencyProxy
from upstream import requires

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
FOLDERS = ("INBOX", "Archive", "Work", "Lists", "Old")
RANDOM_OPS = int(os.environ.get("IDS12_RANDOM_OPS", "1000"))


def guid_of(email_id):
    """The GUID an id carries (the id format of imapbridge/ib_ids.h)."""
    raw = base64.urlsafe_b64decode(email_id[1:] + "=" * (-len(email_id[1:]) % 4))
    if email_id[0] == "h":
        return raw.hex()
    assert email_id[0] == "g", email_id
    return raw.decode()


def jmap_call(gw, auth, *calls):
    body = {"using": [CORE, MAIL], "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
    st, _, out = gw.json("POST", "/jmap/api", body, headers=auth)
    assert st == 200, out
    res = [r for r in out["methodResponses"]]
    return res[0] if len(res) == 1 else res


def imap_view(m, folders):
    """{guid: (folder, uid, frozenset(flags))} of every message, by imaplib."""
    view = {}
    for f in folders:
        typ, _ = m.select('"%s"' % f, readonly=True)
        assert typ == "OK", f
        typ, data = m.uid("FETCH", "1:*", "(X-GUID FLAGS)")
        for line in data:
            if not isinstance(line, bytes) or b"X-GUID" not in line:
                continue
            uid = int(re.search(rb"UID (\d+)", line).group(1))
            guid = re.search(rb"X-GUID (\S+?)[ )]", line).group(1).decode()
            flags = re.search(rb"FLAGS \(([^)]*)\)", line).group(1).decode().split()
            assert guid not in view, ("one GUID in two places", guid, f, view.get(guid))
            view[guid] = (f, uid, frozenset(x for x in flags if x != "\\Recent"))
    return view


KEYWORD_OF = {"\\Seen": "$seen", "\\Flagged": "$flagged", "\\Answered": "$answered",
              "\\Draft": "$draft"}


@requires("X-GUID")  # imaplib ground truth by X-GUID
class JmapIdsTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus("alice", {"INBOX": 60, "Archive": 20, "Work": 10, "Lists": 10,
                                          "Old": 5})
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw"),
                    "Content-Type": "application/json"}
        _, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        cls.session = s
        cls.acct = s["primaryAccounts"][MAIL]
        r = cls.call(["Mailbox/get", {"accountId": cls.acct}])
        cls.box = {m["name"]: m["id"] for m in r["list"]}
        cls.name_of = {v: k for k, v in cls.box.items()}

    @classmethod
    def call(cls, *calls, gw=None):
        res = jmap_call(gw or cls.gw, cls.auth, *calls)
        if len(calls) == 1:
            assert res[0] != "error", res
            return res[1]
        return [r[1] for r in res]

    def imap(self):
        m = self.dovecot.imap("alice", "alice-pw")
        self.addCleanup(m.logout)
        return m

    def ids_in(self, folder, gw=None):
        r = self.call(["Email/query", {"accountId": self.acct, "limit": 1000,
                                       "filter": {"inMailbox": self.box[folder]}}], gw=gw)
        return r["ids"]

    def get(self, ids, props=("mailboxIds", "keywords"), gw=None, acct=None):
        r = self.call(["Email/get", {"accountId": acct or self.acct, "ids": ids,
                                     "properties": list(props)}], gw=gw)
        return {e["id"]: e for e in r["list"]}, r["notFound"]

    def state(self):
        return self.call(["Email/get", {"accountId": self.acct, "ids": []}])["state"]

    def uid_of(self, m, folder, guid):
        m.select('"%s"' % folder)
        typ, data = m.uid("SEARCH", 'X-GUID "%s"' % guid)
        uids = data[0].split()
        return int(uids[0]) if uids else None

    # -- the id format ------------------------------------------------------

    def test_ids_carry_the_imap_guid(self):
        ids = self.ids_in("Lists")
        self.assertEqual(len(ids), 10)
        view = imap_view(self.imap(), ["Lists"])
        self.assertEqual({guid_of(i) for i in ids}, set(view))
        for i in ids:
            self.assertLessEqual(len(i), 255)
            self.assertRegex(i, r"^[A-Za-z0-9_-]+$")
        caps = self.session["accounts"][self.acct]["accountCapabilities"][MAIL]
        self.assertEqual(caps["maxMailboxesPerEmail"], 1)

    # -- moves by Email/set ---------------------------------------------------

    def test_move_by_email_set_keeps_id_and_changes_say_updated(self):
        eid = self.ids_in("Old")[0]
        s0 = self.state()
        r = self.call(["Email/set", {"accountId": self.acct,
                                     "update": {eid: {"mailboxIds": {self.box["Work"]: True},
                                                      "keywords/$flagged": True}}}])
        self.assertIn(eid, r["updated"], r)
        got, nf = self.get([eid])
        self.assertEqual(nf, [])
        self.assertEqual(got[eid]["mailboxIds"], {self.box["Work"]: True})
        self.assertIn("$flagged", got[eid]["keywords"])
        # ground truth: one message with that GUID, in Work, flagged
        view = imap_view(self.imap(), FOLDERS)
        self.assertEqual(view[guid_of(eid)][0], "Work")
        self.assertIn("\\Flagged", view[guid_of(eid)][2])
        self.assertIn(eid, self.ids_in("Work"))
        self.assertNotIn(eid, self.ids_in("Old"))
        ch = self.call(["Email/changes", {"accountId": self.acct, "sinceState": s0}])
        self.assertIn(eid, ch["updated"], ch)
        self.assertNotIn(eid, ch["created"] + ch["destroyed"], ch)
        # the patch form moves it back
        r = self.call(["Email/set", {"accountId": self.acct, "update": {eid: {
            "mailboxIds/" + self.box["Old"]: True, "mailboxIds/" + self.box["Work"]: None}}}])
        self.assertIn(eid, r["updated"], r)
        self.assertEqual(imap_view(self.imap(), FOLDERS)[guid_of(eid)][0], "Old")
        self.assertEqual(self.get([eid])[0][eid]["mailboxIds"], {self.box["Old"]: True})

    def test_expunge_never_listed(self):
        """An instance names an expunged message from what it listed; one
        it never listed (it cannot learn a gone message's GUID) makes
        Email/changes answer cannotCalculateChanges, never a wrong list."""
        uid = self.dovecot.append("alice", "alice-pw", "Expunged", b"Subject: gone\r\n\r\nx\r\n")
        fresh = Gateway(self.dovecot.url, secret=self.gw.secret)   # cold: never saw it
        fresh.start()
        self.addCleanup(fresh.close)
        s0 = self.call(["Email/get", {"accountId": self.acct, "ids": []}], gw=fresh)["state"]
        m = self.imap()
        m.select("Expunged")
        m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
        m.uid("EXPUNGE", str(uid))
        res = jmap_call(fresh, self.auth, ["Email/changes", {"accountId": self.acct,
                                                             "sinceState": s0}])
        self.assertEqual(res[0], "error", res)
        self.assertEqual(res[1]["type"], "cannotCalculateChanges", res)
        # the warm instance listed it first: it names it as destroyed
        uid = self.dovecot.append("alice", "alice-pw", "Expunged", b"Subject: gone2\r\n\r\nx\r\n")
        box = self.call(["Mailbox/get", {"accountId": self.acct}])["list"]
        mid = [b["id"] for b in box if b["name"] == "Expunged"][0]
        ids = self.call(["Email/query", {"accountId": self.acct,
                                         "filter": {"inMailbox": mid}}])["ids"]
        s1 = self.state()
        m.select("Expunged")
        m.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
        m.uid("EXPUNGE", str(uid))
        ch = self.call(["Email/changes", {"accountId": self.acct, "sinceState": s1}])
        self.assertEqual(ch["destroyed"], ids)

    def test_two_mailboxes_are_refused(self):
        eid = self.ids_in("Old")[1]
        r = self.call(["Email/set", {"accountId": self.acct, "update": {eid: {
            "mailboxIds": {self.box["Old"]: True, self.box["Work"]: True}}}}])
        self.assertEqual(r["notUpdated"][eid]["type"], "tooManyMailboxes", r)
        r = self.call(["Email/set", {"accountId": self.acct, "update": {eid: {
            "mailboxIds/" + self.box["Work"]: True}}}])
        self.assertEqual(r["notUpdated"][eid]["type"], "tooManyMailboxes", r)
        r = self.call(["Email/set", {"accountId": self.acct, "update": {eid: {"mailboxIds": {}}}}])
        self.assertEqual(r["notUpdated"][eid]["type"], "invalidProperties", r)
        self.assertEqual(r["notUpdated"][eid]["properties"], ["mailboxIds"], r)
        # the SetError names the property at fault (RFC 8620 §5.3)
        for patch, prop in (({"subject": "x"}, "subject"),
                            ({"keywords/$seen": True, "keywords/bad word": True}, "keywords/bad word"),
                            ({"keywords": {"$seen": False}}, "keywords")):
            r = self.call(["Email/set", {"accountId": self.acct, "update": {eid: patch}}])
            self.assertEqual(r["notUpdated"][eid]["type"], "invalidProperties", r)
            self.assertEqual(r["notUpdated"][eid]["properties"], [prop], r)
        self.assertEqual(imap_view(self.imap(), FOLDERS)[guid_of(eid)][0], "Old")

    # -- moves by another client ------------------------------------------------

    def test_move_by_imap_found_by_warm_and_cold_instances(self):
        ids = self.ids_in("Lists")[:3]      # this instance has them cached in Lists
        m = self.imap()
        for eid in ids:
            uid = self.uid_of(m, "Lists", guid_of(eid))
            typ, _ = m.uid("MOVE", str(uid), "Archive")
            self.assertEqual(typ, "OK")
        # warm instance: the cached place is stale, it searches again
        got, nf = self.get(ids)
        self.assertEqual(nf, [])
        for eid in ids:
            self.assertEqual(got[eid]["mailboxIds"], {self.box["Archive"]: True})
        # a second instance (same secret, nothing cached) finds them too
        gw2 = Gateway(self.dovecot.url, secret=self.gw.secret)
        gw2.start()
        self.addCleanup(gw2.close)
        got, nf = self.get(ids, gw=gw2)
        self.assertEqual(nf, [])
        for eid in ids:
            self.assertEqual(got[eid]["mailboxIds"], {self.box["Archive"]: True})
        # and the blob of a moved message still downloads, on both
        blob = self.get(ids[:1], props=("blobId",))[0][ids[0]]["blobId"]
        m.select("Archive")
        uid = self.uid_of(m, "Archive", guid_of(ids[0]))
        typ, data = m.uid("MOVE", str(uid), "Work")
        self.assertEqual(typ, "OK")
        typ, data = m.select("Work")
        uid = self.uid_of(m, "Work", guid_of(ids[0]))
        typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
        raw = data[0][1]
        for gw in (self.gw, gw2):
            url = "/jmap/download/%s/%s/m.eml?type=message/rfc822" % (self.acct, blob)
            st, _, body = gw.request("GET", url, headers=self.auth)
            self.assertEqual(st, 200)
            self.assertEqual(body, raw)
        # unknown GUIDs are not found (after a search), not errors
        missing = "g" + base64.urlsafe_b64encode(b"no-such-guid-xyz").decode().rstrip("=")
        self.assertEqual(self.get([missing], gw=gw2)[1], [missing])

    # -- copies ----------------------------------------------------------------

    def test_copy(self):
        eid = self.ids_in("Work")[0]
        for method in ("Email/copy", "Blob/copy"):
            res = jmap_call(self.gw, self.auth, [method, {"fromAccountId": self.acct,
                                                          "accountId": self.acct, "create": {}}])
            self.assertEqual(res[0], "error", res)
            self.assertEqual(res[1]["type"], "invalidArguments", res)
        res = jmap_call(self.gw, self.auth, ["Email/copy", {"fromAccountId": "other",
                                                            "accountId": self.acct, "create": {}}])
        self.assertEqual(res[1]["type"], "fromAccountNotFound", res)
        # an IMAP COPY keeps the GUID: both folders list the one id, and
        # Email/get names one of them (maxMailboxesPerEmail 1; README)
        m = self.imap()
        uid = self.uid_of(m, "Work", guid_of(eid))
        typ, _ = m.uid("COPY", str(uid), "Lists")
        self.assertEqual(typ, "OK")
        self.addCleanup(self._drop_copy, guid_of(eid))
        self.assertIn(eid, self.ids_in("Work"))
        self.assertIn(eid, self.ids_in("Lists"))
        got, nf = self.get([eid])
        self.assertEqual(nf, [])
        self.assertEqual(len(got[eid]["mailboxIds"]), 1)
        self.assertIn(self.name_of[list(got[eid]["mailboxIds"])[0]], ("Work", "Lists"))

    def _drop_copy(self, guid):
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            uid = self.uid_of(m, "Lists", guid)
            m.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            m.uid("EXPUNGE", str(uid))
        finally:
            m.logout()

    # -- one pipelined round on a cache miss --------------------------------------

    def counted_instance(self, one_way):
        """A fresh gateway (same secret) behind a counting proxy that delays
        each way by one_way s: (proxy, gateway, its account id: another
        upstream URL, so another account id for the same user)."""
        proxy = LatencyProxy(self.dovecot.plain_port, one_way)
        self.addCleanup(proxy.close)
        gw = Gateway("imap://127.0.0.1:%d" % proxy.port, secret=self.gw.secret)
        gw.start()
        self.addCleanup(gw.close)
        _, _, s = gw.json("GET", "/.well-known/jmap", headers=self.auth)
        return proxy, gw, s["primaryAccounts"][MAIL]

    def test_cold_lookup_is_one_round_trip(self):
        proxy, gw3, acct = self.counted_instance(0.0)
        ids = self.ids_in("INBOX")[:6]
        self.get([], gw=gw3, acct=acct)           # log in, warm the session
        proxy.reset()
        got, nf = self.get(ids, gw=gw3, acct=acct)   # cold: search by GUID
        cold = proxy.totals()
        self.assertEqual((sorted(got), nf), (sorted(ids), []))
        proxy.reset()
        got, nf = self.get(ids, gw=gw3, acct=acct)   # warm: from the cache
        warm = proxy.totals()
        self.assertEqual((sorted(got), nf), (sorted(ids), []))
        # one UID SEARCH per folder, all in one round trip on top of the warm path
        nboxes = len(self.box)
        self.assertEqual(cold["by_command"].get("UID SEARCH", 0), nboxes, cold)
        self.assertEqual(cold["by_command"].get("UID FETCH", 0) - warm["by_command"]["UID FETCH"],
                         nboxes, (cold, warm))   # FETCH $ (X-GUID): which hit is which
        self.assertEqual(warm["by_command"].get("UID SEARCH", 0), 0, warm)
        self.assertLessEqual(cold["round_trips"], warm["round_trips"] + 1, (cold, warm))

    def test_cold_get_over_folders_is_three_round_trips(self):
        # ids in four folders, fetched by an instance that never saw them:
        # LIST-STATUS, the GUID search over every folder, then every
        # folder's EXAMINE + UID FETCH in one write (issue 12); warm, the
        # search round goes. Without the pipelined fetch: 2 per folder.
        proxy, gw3, acct = self.counted_instance(0.010)
        ids = {f: self.ids_in(f)[:3] for f in ("INBOX", "Archive", "Work", "Lists")}
        want = [i for f in ids for i in ids[f]]
        self.get([], gw=gw3, acct=acct)             # log in, warm the session
        for name, ceiling in (("cold", 3), ("warm", 2)):
            proxy.reset()
            got, nf = self.get(want, gw=gw3, acct=acct, props=("mailboxIds", "subject"))
            counted = proxy.totals()
            self.assertEqual(nf, [])
            for folder, fids in ids.items():
                for eid in fids:
                    self.assertEqual(self.name_of[list(got[eid]["mailboxIds"])[0]], folder)
            self.assertLessEqual(counted["round_trips"], ceiling, (name, counted))
            self.assertEqual(counted["by_command"].get("UNSELECT"), 1 + (name == "cold"),
                             counted)

    # -- the random run ---------------------------------------------------------

    def test_random_operations_leave_jmap_equal_to_imap(self):
        rnd = random.Random(12)
        m = self.imap()
        start = time.time()
        ids = [i for f in FOLDERS for i in self.ids_in(f)]
        keywords = ["$seen", "$flagged", "$answered", "work", "later"]
        for n in range(RANDOM_OPS):
            if not ids:
                break
            eid = rnd.choice(ids)
            op = rnd.random()
            if n % 4 == 3:     # another client changes something
                self._imap_op(m, rnd, eid)
                continue
            if op < 0.45:
                kw = rnd.choice(keywords)
                patch = {"keywords/" + kw: True if rnd.random() < 0.6 else None}
            elif op < 0.9:
                patch = {"mailboxIds": {self.box[rnd.choice(FOLDERS)]: True}}
            else:
                r = self.call(["Email/set", {"accountId": self.acct, "destroy": [eid]}])
                self.assertEqual(r["destroyed"], [eid], r)
                ids.remove(eid)
                continue
            r = self.call(["Email/set", {"accountId": self.acct, "update": {eid: patch}}])
            self.assertIn(eid, r["updated"], (r, patch))
        self._assert_views_equal()
        self.assertLess(time.time() - start, 120)

    def _imap_op(self, m, rnd, eid):
        guid = guid_of(eid)
        where = None
        for f in FOLDERS:
            uid = self.uid_of(m, f, guid)
            if uid:
                where = (f, uid)
                break
        if where is None:
            return
        f, uid = where
        m.select('"%s"' % f)
        if rnd.random() < 0.5:
            m.uid("STORE", str(uid), "+FLAGS" if rnd.random() < 0.5 else "-FLAGS", "(\\Seen)")
        else:
            m.uid("MOVE", str(uid), '"%s"' % rnd.choice(FOLDERS))

    def _assert_views_equal(self):
        view = imap_view(self.imap(), FOLDERS)
        jmap = {}
        for f in FOLDERS:
            ids = self.ids_in(f)
            self.assertEqual(len(ids), len(set(ids)), f)
            got, nf = self.get(ids)
            self.assertEqual(nf, [], f)
            for eid in ids:
                g = guid_of(eid)
                self.assertNotIn(g, jmap, ("listed twice", eid))
                jmap[g] = (f, got[eid])
        self.assertEqual(set(jmap), set(view))
        for g, (f, e) in jmap.items():
            self.assertEqual(f, view[g][0], g)
            self.assertEqual(e["mailboxIds"], {self.box[f]: True}, g)
            want = {KEYWORD_OF.get(x, x.lower()) for x in view[g][2] if x != "\\Deleted"}
            self.assertEqual(set(e["keywords"]), want, g)


if __name__ == "__main__":
    unittest.main()
