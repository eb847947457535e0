"""Threads that hold together (issue 12 item 3): a reply that names its
parent only by In-Reply-To shares the parent's threadId even when the
parent's own root is elsewhere (B -> A -> R), in one folder and across
the Sent folder; Thread/get and Thread/changes agree; the thread-keyword
sorts see the whole thread; and on the real corpus every In-Reply-To pair
of one folder shares a threadId (imaplib reads the headers as ground
truth), or, where the server threads (THREADID), the threadIds group the
messages as its THREADIDs do."""
import email
import email.policy
import re
import unittest

from fixture import Gateway, StackTestCase
from upstream import has, requires

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def mail(mid, subject, refs=None, irt=None):
    h = "From: t@example.org\r\nSubject: %s\r\nMessage-ID: <%s>\r\n" % (subject, mid)
    if refs:
        h += "References: %s\r\n" % " ".join("<%s>" % r for r in refs)
    if irt:
        h += "In-Reply-To: <%s>\r\n" % irt
    return (h + "\r\nbody\r\n").encode()


def partition(group_of, keys):
    """keys grouped by group_of[key], as a set of frozensets."""
    groups = {}
    for k in keys:
        groups.setdefault(group_of.get(k), set()).add(k)
    return {frozenset(g) for g in groups.values()}


class JmapThreadsTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus("alice", {"INBOX": 5, "Corpus": 400})
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw"),
                    "Content-Type": "application/json"}
        _, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        cls.acct = s["primaryAccounts"][MAIL]
        r = cls.call(cls.gw, ["Mailbox/get", {"accountId": cls.acct}])
        cls.box = {m["name"]: m["id"] for m in r["list"]}

    @classmethod
    def call(cls, gw, *calls):
        body = {"using": [CORE, MAIL],
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = gw.json("POST", "/jmap/api", body, headers=cls.auth)
        assert st == 200, out
        res = [r[1] for r in out["methodResponses"]]
        for r in out["methodResponses"]:
            assert r[0] != "error", r
        return res[0] if len(res) == 1 else res

    def thread_of(self, mid, gw=None):
        gw = gw or self.gw
        q, g = self.call(gw, ["Email/query", {"accountId": self.acct,
                                             "filter": {"header": ["Message-ID", "<%s>" % mid]}}],
                         ["Email/get", {"accountId": self.acct, "properties": ["threadId"],
                                        "#ids": {"resultOf": "0", "name": "Email/query",
                                                 "path": "/ids"}}])
        self.assertEqual(len(g["list"]), 1, mid)
        return g["list"][0]["id"], g["list"][0]["threadId"]

    @requires("CONDSTORE")
    def test_reply_with_in_reply_to_only_joins_parent(self):
        put = self.dovecot.append
        put("alice", "alice-pw", "INBOX", mail("r1@x", "root"))
        put("alice", "alice-pw", "INBOX", mail("a1@x", "Re: root", refs=["r1@x"], irt="r1@x"))
        put("alice", "alice-pw", "INBOX", mail("b1@x", "Re: Re: root", irt="a1@x"))
        ids = {}
        for mid in ("r1@x", "a1@x", "b1@x"):
            ids[mid] = self.thread_of(mid)
        self.assertEqual(len({t for _, t in ids.values()}), 1, ids)
        # a second instance (cold caches) agrees, asking for the reply first
        gw2 = Gateway(self.dovecot.url, secret=self.gw.secret)
        gw2.start()
        self.addCleanup(gw2.close)
        self.assertEqual(self.thread_of("b1@x", gw2)[1], ids["r1@x"][1])
        # Thread/get lists all three, the reply found through In-Reply-To
        tid = ids["r1@x"][1]
        for gw in (self.gw, gw2):
            t = self.call(gw, ["Thread/get", {"accountId": self.acct, "ids": [tid]}])
            self.assertEqual(sorted(t["list"][0]["emailIds"]), sorted(i for i, _ in ids.values()))
        # Thread/changes: a new In-Reply-To-only reply updates that thread
        s0 = self.call(self.gw, ["Thread/get", {"accountId": self.acct, "ids": []}])["state"]
        put("alice", "alice-pw", "INBOX", mail("c1@x", "Re: Re: Re: root", irt="b1@x"))
        ch = self.call(self.gw, ["Thread/changes", {"accountId": self.acct, "sinceState": s0}])
        self.assertEqual((ch["created"], ch["updated"]), ([], [tid]), ch)
        self.assertEqual(self.thread_of("c1@x")[1], tid)
        # a THREADID-style id ("s...") on this server without THREADID: not found
        t = self.call(self.gw, ["Thread/get", {"accountId": self.acct, "ids": ["sVDFh"]}])
        self.assertEqual((t["list"], t["notFound"]), ([], ["sVDFh"]), t)

    def test_parent_in_sent(self):
        put = self.dovecot.append
        put("alice", "alice-pw", "INBOX", mail("r2@x", "plan"))
        put("alice", "alice-pw", "Sent", mail("a2@x", "Re: plan", refs=["r2@x"], irt="r2@x"))
        put("alice", "alice-pw", "INBOX", mail("b2@x", "Re: Re: plan", irt="a2@x"))
        gw2 = Gateway(self.dovecot.url, secret=self.gw.secret)
        gw2.start()
        self.addCleanup(gw2.close)
        _, tb = self.thread_of("b2@x", gw2)    # cold: the parent is found in Sent
        self.assertEqual(tb, self.thread_of("a2@x", gw2)[1])
        self.assertEqual(tb, self.thread_of("r2@x")[1])

    def test_thread_keyword_sorts(self):
        """someInThreadHaveKeyword / allInThreadHaveKeyword sorts (RFC 8621
        §4.4.2) look at the whole thread, other folders included."""
        put = self.dovecot.append
        put("alice", "alice-pw", "Sent", mail("sa-r@x", "A root"), flags="\\Flagged \\Seen")
        put("alice", "alice-pw", "Sorts", mail("sa-a@x", "Re: A root", irt="sa-r@x"))
        put("alice", "alice-pw", "Sorts", mail("sb-r@x", "B root"), flags="\\Seen")
        put("alice", "alice-pw", "Sorts", mail("sb-a@x", "Re: B root", irt="sb-r@x"), flags="\\Seen")
        put("alice", "alice-pw", "Sorts", mail("sc@x", "C single"), flags="\\Flagged")
        put("alice", "alice-pw", "Sorts", mail("sd@x", "D single"))
        box = self.call(self.gw, ["Mailbox/get", {"accountId": self.acct}])["list"]
        sorts = [b["id"] for b in box if b["name"] == "Sorts"][0]

        def order(prop, kw):
            q, g = self.call(self.gw, ["Email/query", {
                "accountId": self.acct, "filter": {"inMailbox": sorts},
                "sort": [{"property": prop, "keyword": kw, "isAscending": False},
                         {"property": "subject"}]}],
                ["Email/get", {"accountId": self.acct, "properties": ["messageId"],
                               "#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"}}])
            mid = {e["id"]: e["messageId"][0] for e in g["list"]}
            return [mid[i] for i in q["ids"]]

        self.assertEqual(order("someInThreadHaveKeyword", "$flagged"),
                         ["sa-a@x", "sc@x", "sb-r@x", "sb-a@x", "sd@x"])
        self.assertEqual(order("allInThreadHaveKeyword", "$seen"),
                         ["sb-r@x", "sb-a@x", "sa-a@x", "sc@x", "sd@x"])

    def test_corpus_in_reply_to_pairs_share_a_thread(self):
        # ground truth: headers read by imaplib + Python's email package
        m = self.dovecot.imap("alice", "alice-pw")
        self.addCleanup(m.logout)
        m.select("Corpus", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO)])")
        heads = []
        for item in data:
            if isinstance(item, tuple):
                h = email.message_from_bytes(item[1], policy=email.policy.compat32)
                heads.append((h.get("Message-ID", "").strip(), h.get("In-Reply-To", "")))
        present = {mid for mid, _ in heads if mid}
        pairs = []
        for mid, irt in heads:
            parent = irt.split(">")[0].strip() + ">" if "<" in irt else ""
            if mid and parent in present and parent != mid:
                pairs.append((mid, parent))
        self.assertGreater(len(pairs), 10, "the corpus should hold reply pairs")
        q = self.call(self.gw, ["Email/query", {"accountId": self.acct, "limit": 1000,
                                                "filter": {"inMailbox": self.box["Corpus"]}}])
        got = self.call(self.gw, ["Email/get", {"accountId": self.acct, "ids": q["ids"],
                                                "properties": ["threadId", "messageId"]}])
        thread = {"<%s>" % e["messageId"][0]: e["threadId"] for e in got["list"] if e["messageId"]}
        if has("OBJECTID"):
            # the server threads (RFC 8474 THREADID; Cyrus also splits a
            # reply whose subject changed): threadIds group the messages
            # exactly as its THREADIDs do
            typ, data = m.uid("FETCH", "1:*", "(THREADID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            server = {}
            for item in data:
                if isinstance(item, tuple):
                    tid = re.search(rb"THREADID \(([^)]+)\)", item[0]).group(1)
                    mid = email.message_from_bytes(item[1]).get("Message-ID", "").strip()
                    if mid:
                        server[mid] = tid
            self.assertEqual(partition(thread, set(server)), partition(server, set(server)))
            return
        split = [(a, b) for a, b in pairs if thread.get(a) != thread.get(b)]
        self.assertEqual(split, [], "%d of %d pairs split" % (len(split), len(pairs)))


if __name__ == "__main__":
    unittest.main()
