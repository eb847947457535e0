"""Mailbox sortOrder kept in IMAP METADATA (issue 12 item 4): a Dovecot with
METADATA (RFC 5464, per-user attribute dict), the gateway behind a
LatencyProxy that counts round trips. Ground truth is imaplib's
GETMETADATA on the same server.

The orders live in one server annotation, /private/vendor/jmapgate/
sortorder, as "mailboxid=n,..." (imapbridge/ib_sortorder.h): a listing
reads it with a GETMETADATA written in the same write as its LIST-STATUS,
so Mailbox/get costs no round trip more than without METADATA."""
import unittest

from fixture import Dovecot, Gateway, close_all
from jmapclient import JmapClient
from latencyproxy import LatencyProxy

ENTRY = "/private/vendor/jmapgate/sortorder"


class SortOrderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = cls.proxy = cls.gw = None
        try:
            cls.dv = Dovecot(users={"alice": "alice-pw"}, metadata=True)
            cls.dv.start()
            cls.proxy = LatencyProxy(cls.dv.plain_port, 0.002)
            cls.gw = Gateway("imap://127.0.0.1:%d" % cls.proxy.port)
            cls.gw.start()
        except BaseException:
            cls.tearDownClass()
            raise
        cls.client = JmapClient(cls.gw, "alice", "alice-pw")
        cls.acct = cls.client.account

    @classmethod
    def tearDownClass(cls):
        close_all(cls.gw, cls.proxy, cls.dv)

    def call(self, *calls, gw=None):
        return self.client.call(*calls, gw=gw)

    def get(self, gw=None):
        r = self.call(["Mailbox/get", {"accountId": self.acct}], gw=gw)
        return r["state"], {m["name"]: m for m in r["list"]}

    def mset(self, **args):
        return self.call(["Mailbox/set", dict(args, accountId=self.acct)])

    def stored(self):
        m = self.dv.imap("alice", "alice-pw")
        try:
            typ, _ = m.xatom("GETMETADATA", '""', "(%s)" % ENTRY)
            self.assertEqual(typ, "OK")
            data = m.untagged_responses.get("METADATA") or []
            return b" ".join(d if isinstance(d, bytes) else b"".join(d) for d in data if d)
        finally:
            m.logout()

    def test_update_create_changes_and_query(self):
        state0, box = self.get()
        self.assertEqual({m["sortOrder"] for m in box.values()}, {0})
        archive, trash = box["Archive"]["id"], box["Trash"]["id"]
        r = self.mset(update={archive: {"sortOrder": 5}, trash: {"sortOrder": 2**53 - 1}},
                      create={"n": {"name": "Ordered", "sortOrder": 3}})
        self.assertEqual(set(r["updated"]), {archive, trash}, r)
        self.assertEqual(r["created"]["n"]["sortOrder"], 3, r)
        self.assertNotEqual(r["newState"], r["oldState"])
        new = r["created"]["n"]["id"]
        state1, box = self.get()
        self.assertEqual(state1, r["newState"])
        self.assertEqual((box["Archive"]["sortOrder"], box["Trash"]["sortOrder"],
                          box["Ordered"]["sortOrder"], box["INBOX"]["sortOrder"]),
                         (5, 2**53 - 1, 3, 0))
        # on the server, where any instance finds it
        raw = self.stored()
        self.assertIn(("%s=5" % archive).encode(), raw)
        self.assertIn(("%s=3" % new).encode(), raw)
        cold = Gateway("imap://127.0.0.1:%d" % self.proxy.port, secret=self.gw.secret)
        cold.start()
        self.addCleanup(cold.close)
        self.assertEqual(self.get(gw=cold)[1]["Archive"]["sortOrder"], 5)
        # a change of sortOrder alone is an update in Mailbox/changes
        ch = self.call(["Mailbox/changes", {"accountId": self.acct, "sinceState": state0}])
        self.assertEqual(set(ch["updated"]), {archive, trash}, ch)
        self.assertEqual(ch["created"], [new])
        r = self.mset(update={archive: {"sortOrder": 1}})
        self.assertEqual(list(r["updated"]), [archive], r)
        ch = self.call(["Mailbox/changes", {"accountId": self.acct, "sinceState": state1}])
        self.assertEqual((ch["updated"], ch["created"], ch["destroyed"]), ([archive], [], []), ch)
        # Mailbox/query by sortOrder: 0s first (INBOX, then by role), then 1, 3, 2^53-1
        q = self.call(["Mailbox/query", {"accountId": self.acct,
                                         "sort": [{"property": "sortOrder"}]}])
        self.assertEqual(q["ids"][0], box["INBOX"]["id"])
        self.assertEqual(q["ids"][-3:], [archive, new, trash], q)
        # back to 0 everywhere: the entry is removed
        r = self.mset(update={archive: {"sortOrder": 0}, trash: {"sortOrder": 0},
                              new: {"sortOrder": 0}}, destroy=[])
        self.assertEqual(len(r["updated"]), 3, r)
        self.assertNotIn(b"=", self.stored())
        self.mset(destroy=[new])

    def test_invalid_values_are_refused(self):
        _, box = self.get()
        archive = box["Archive"]["id"]
        for bad in (-1, 2**53, "5", 1.5, None, True):
            with self.subTest(value=bad):
                r = self.mset(update={archive: {"sortOrder": bad}})
                self.assertEqual(r["notUpdated"][archive]["type"], "invalidProperties", r)
                self.assertEqual(r["notUpdated"][archive]["properties"], ["sortOrder"])
        r = self.mset(create={"x": {"name": "Bad", "sortOrder": -3}})
        self.assertEqual(r["notCreated"]["x"]["properties"], ["sortOrder"], r)
        self.assertEqual(self.get()[1]["Archive"]["sortOrder"], 0)

    def test_mailbox_get_costs_no_extra_round_trip(self):
        self.get()                                  # a warm session
        self.proxy.reset()
        self.get()
        counted = self.proxy.totals()
        self.assertEqual(counted["by_command"].get("GETMETADATA"), 1, counted)
        self.assertEqual(counted["round_trips"], 1, counted)


if __name__ == "__main__":
    unittest.main()
