"""A request pays for what it asks, not for the account's folder count
(issue 11): the same operations on an account with the 4 folders of the
round-trip scenario and on one with 300 more cost the same upstream
commands and round trips, counted at a proxy between the gateway and
Dovecot. Dovecot offers LIST-STATUS, so the folder listing behind every
JMAP request and the folder list itself is one command whatever the count;
the REST message routes open their folder by path and Email/set its folder
from the folder map, without a listing or with the one LIST-STATUS."""
import unittest

from fixture import Dovecot, Gateway
from latencyproxy import LatencyProxy
import roundtrips

OPS = ("folder_list", "first_page", "message_detail", "jmap_query_get_50", "jmap_set_keywords",
       "move")
BULK = 300


class Stack:
    def __init__(self, extra_folders):
        self.dv = Dovecot(users={})
        self.proxy = self.gw = self.sc = None
        self.dv.start()
        counts = {"INBOX": 120}
        counts.update({f: 3 for f in roundtrips.FOLDERS})
        counts.update({"Bulk%03d" % i: 1 for i in range(extra_folders)})
        self.dv.add_user(roundtrips.USER, roundtrips.PASSWORD)
        self.dv.seed_corpus(roundtrips.USER, counts)
        self.proxy = LatencyProxy(self.dv.plain_port, 0.0)
        self.gw = Gateway("imap://127.0.0.1:%d" % self.proxy.port)
        self.gw.start()
        self.sc = roundtrips.Scenario(self.dv, self.gw, self.proxy)
        self.sc.prepare(login_users=0)

    def costs(self):
        """Each operation twice (the second on warm sessions): its proxy totals."""
        out = {}
        for _ in range(2):
            for name in OPS:
                _, counted = self.sc.run(name)
                out[name] = (counted["commands"], counted["round_trips"])
        return out

    def close(self):
        for closer in (self.sc, self.gw, self.proxy, self.dv):
            if closer is not None:
                closer.close()


class FolderCountCostTest(unittest.TestCase):
    def test_same_cost_at_5_and_305_folders(self):
        small = big = None
        try:
            small = Stack(0)
            big = Stack(BULK)
            names = {m["path"] for m in big.sc.rest("GET", "/api/v1/mailboxes")["mailboxes"]}
            self.assertGreaterEqual(len(names), BULK + 5)   # the big account is big
            few, many = small.costs(), big.costs()
        finally:
            for st in (small, big):
                if st is not None:
                    st.close()
        for name in OPS:
            with self.subTest(op=name):
                self.assertEqual(many[name], few[name], (name, few, many))
                self.assertLessEqual(many[name][0], 10, many)   # commands: not one per folder


if __name__ == "__main__":
    unittest.main()
