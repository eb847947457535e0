"""Email/query whose window the server cuts (issue 19): on Dovecot (ESORT,
CONTEXT=SEARCH, SEARCHRES, X-GUID) a one-folder query with a position and a
limit and no calculateTotal is answered by UID SORT RETURN (SAVE PARTIAL
a:b) + UID FETCH $ (UID X-GUID) written behind the listing; the answers
interleave and are read by the gateway's own reader.

Checked against the whole-answer path of the same gateway (calculateTotal
forces it): the same ids at the same positions, for windows at the start,
in the middle, across the end and past it, in two sort orders. Counted at a
proxy: a fresh instance (nothing in its location cache) answers Email/query
+ Email/get of 50 in 2 upstream round trips, and the query's ids come from
the SORT's write (no UID FETCH of GUIDs of its own)."""
import unittest

from fixture import Dovecot, Gateway, close_all
from jmapclient import JmapClient
from latencyproxy import LatencyProxy

USER, PASSWORD = "win", "win-pw"
ONE_WAY_SECS = 0.010


class Client(JmapClient):
    """USER on gw, with the id of INBOX."""

    def __init__(self, gw):
        super().__init__(gw, USER, PASSWORD)
        boxes = self.api(["Mailbox/get", {"properties": ["role", "name"]}])[0]["list"]
        self.inbox = [b["id"] for b in boxes if b["role"] == "inbox"][0]

    def query(self, sort, **window):
        args = {"accountId": self.account, "filter": {"inMailbox": self.inbox}, "sort": sort}
        args.update(window)
        return self.api(["Email/query", args])[0]


class QueryWindowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = Dovecot(users={})
        cls.proxy = cls.gw = None
        try:
            cls.dv.start()
            cls.dv.add_user(USER, PASSWORD)
            cls.dv.seed_corpus(USER, {"INBOX": 120, "Other": 3})
            cls.proxy = LatencyProxy(cls.dv.plain_port, ONE_WAY_SECS)
            cls.gw = Gateway("imap://127.0.0.1:%d" % cls.proxy.port)
            cls.gw.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        close_all(cls.gw, cls.proxy, cls.dv)

    def test_window_equals_the_whole_answer(self):
        c = Client(self.gw)
        for sort in ([{"property": "receivedAt", "isAscending": False}],
                     [{"property": "subject", "isAscending": True}]):
            whole = c.query(sort, calculateTotal=True, limit=1000)
            self.assertEqual(whole["total"], 120)
            for position, limit in ((0, 50), (7, 13), (110, 25), (119, 1)):
                with self.subTest(sort=sort[0]["property"], position=position, limit=limit):
                    self.proxy.reset()
                    got = c.query(sort, position=position, limit=limit)
                    counted = self.proxy.totals()
                    by = counted["by_command"]
                    self.assertEqual(got["position"], position)
                    self.assertNotIn("total", got)
                    self.assertEqual(got["ids"], whole["ids"][position:position + limit])
                    # one SORT, its FETCH $ beside it, in one round trip
                    self.assertEqual(counted["round_trips"], 1, counted)
                    self.assertEqual(by.get("UID SORT"), 1, by)
                    self.assertEqual(by.get("UID FETCH"), 1, by)

    def test_window_past_the_end(self):
        c = Client(self.gw)
        sort = [{"property": "receivedAt", "isAscending": False}]
        got = c.query(sort, position=500, limit=10)
        self.assertEqual(got["ids"], [])
        self.assertEqual(got["position"], 120)   # as the whole answer reports it

    def test_cold_instance_query_get_50_two_round_trips(self):
        with Gateway("imap://127.0.0.1:%d" % self.proxy.port) as gw:
            c = Client(gw)                      # log in, list folders (the folder map)
            self.proxy.reset()
            q, g = c.call(["Email/query", {"accountId": c.account, "limit": 50,
                                           "filter": {"inMailbox": c.inbox},
                                           "sort": [{"property": "receivedAt",
                                                     "isAscending": False}]}],
                          ["Email/get", {"accountId": c.account,
                                         "#ids": {"resultOf": "0", "name": "Email/query",
                                                  "path": "/ids"},
                                         "properties": ["subject", "receivedAt", "keywords"]}])
            counted = self.proxy.totals()
            self.assertEqual([e["id"] for e in g["list"]], q["ids"])
            self.assertEqual(len(q["ids"]), 50)
            self.assertEqual(g["notFound"], [])
            self.assertEqual(counted["round_trips"], 2, counted)


if __name__ == "__main__":
    unittest.main()
