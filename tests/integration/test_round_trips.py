"""Upstream round trips per operation (issue 19), counted at a proxy between
the gateway and Dovecot (no delay: the count, not the time, is asserted).

CEILINGS are what the gateway achieves today: a change that adds a round
trip to an operation fails here. The issue-19 target is 1.2x the minimal
hand-written conversation (roundtrips.MINIMAL_ROUND_TRIPS, written down
there per operation), e.g. login <= 1, REST changes <= 1, first page <= 2,
JMAP Email/query+get 50 <= 2; lower a ceiling when a change gets closer."""
import unittest

from fixture import Dovecot, Gateway
from latencyproxy import LatencyProxy
import roundtrips

# operation -> most upstream round trips allowed (measured after the
# pooled-session NOOP moved off checkout; issue-19 target in the comment)
CEILINGS = {
    "login": 1,                # target 1: caps from greeting + LOGIN OK; ID+LOGIN+ENABLE+NAMESPACE in one write
    "folder_list": 2,          # target 1: LIST-STATUS (1; 2 when a selection must be synced first)
    "first_page": 3,           # target 2: EXAMINE+STATUS, UID SEARCH (needs UIDNEXT), UID FETCH
    "message_detail": 3,       # target 2: EXAMINE+STATUS, UID FETCH, UID FETCH of the text
    "rest_changes_none": 1,    # target 1: EXAMINE + STATUS pipelined (nothing moved: no FETCH)
    "rest_changes_flag": 2,    # target 1: EXAMINE+STATUS, UID FETCH CHANGEDSINCE (flags included)
    "jmap_query_get_50": 5,    # target 2: NOOP (one per request), LIST-STATUS, UID SORT, UID FETCH
                               # (X-GUID of the 50: issue 12's stable ids, when not cached), UID FETCH
    "jmap_email_changes": 3,   # target 2
    "jmap_set_keywords": 7,    # target 1
    "move": 5,                 # target 1
}
# REST reads address their one folder directly (EXAMINE + STATUS in one
# round trip, no LIST-STATUS of every folder, no sync NOOP).
# jmap_set_keywords and move each gained the UNSELECT that ends a write at
# checkin (issue 17 item 7): a pool session left SELECTed read-write would
# take \Recent from the user's other clients at its next NOOP.


class RoundTripTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = Dovecot(users={})
        cls.proxy = cls.gw = cls.sc = None
        try:
            cls.dv.start()
            roundtrips.seed(cls.dv, 500)
            cls.proxy = LatencyProxy(cls.dv.plain_port, 0.0)
            cls.gw = Gateway("imap://127.0.0.1:%d" % cls.proxy.port)
            cls.gw.start()
            cls.sc = roundtrips.Scenario(cls.dv, cls.gw, cls.proxy)
            cls.sc.prepare(login_users=2)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for closer in (cls.sc, cls.gw, cls.proxy, cls.dv):
            if closer is not None:
                closer.close()

    def test_round_trips_per_operation_within_ceilings(self):
        self.assertEqual(set(CEILINGS), set(roundtrips.OPERATIONS))
        for _ in range(2):   # the second pass runs on warm sessions and selections
            for name in roundtrips.OPERATIONS:
                with self.subTest(op=name):
                    _, counted = self.sc.run(name)
                    rt = counted["round_trips"]
                    # at least the minimal conversation: the proxy is in the path
                    self.assertGreaterEqual(rt, roundtrips.MINIMAL_ROUND_TRIPS[name], counted)
                    self.assertLessEqual(rt, CEILINGS[name], counted)

    def test_noop_only_where_a_selection_is_used(self):
        # a folder listing on a session answered a moment ago sends its
        # NOOP behind LIST and LSUB, not in a round trip of its own
        self.sc.run("first_page")               # leaves INBOX selected
        _, counted = self.sc.run("folder_list")
        self.assertEqual(counted["by_command"].get("NOOP", 0), 1, counted)
        self.assertEqual(counted["round_trips"], 2, counted)


if __name__ == "__main__":
    unittest.main()
