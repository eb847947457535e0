"""Upstream round trips per operation (issue 19), counted at a proxy between
the gateway and Dovecot that delays each chunk by 10 ms (the count, not the
time, is asserted; the delay makes the gateway see a distant server, where
it reopens a folder in a pipeline rather than syncing it with a NOOP round
trip of its own, as it does for a near one: ib_session_use_send).

CEILINGS are what the gateway achieves today: a change that adds a round
trip to an operation fails here. The issue-19 target is 1.2x the minimal
hand-written conversation (roundtrips.MINIMAL_ROUND_TRIPS, written down
there per operation), e.g. login <= 1, REST changes <= 1, first page <= 2,
JMAP Email/query+get 50 <= 2; lower a ceiling when a change gets closer."""
import unittest

from fixture import Dovecot, Gateway
from latencyproxy import LatencyProxy
import roundtrips

ONE_WAY_SECS = 0.010   # > ib_session.h IB_REOPEN_RTT_MS: a distant server

# operation -> most upstream round trips allowed (measured after the
# pooled-session NOOP moved off checkout; issue-19 target in the comment)
CEILINGS = {
    "login": 1,                # target 1: caps from greeting + LOGIN OK; ID+LOGIN+ENABLE+NAMESPACE in one write
    "folder_list": 1,          # target 1: LIST-STATUS (behind EXAMINE of a kept selection)
    "first_page": 2,           # target 2: EXAMINE+STATUS, then FETCH n-49:* by sequence number
                               # from the EXAMINE's EXISTS (no UID SEARCH; `before=` pages still
                               # search a UID window first: 3)
    "message_detail": 2,       # target 2: EXAMINE+STATUS+UID FETCH, UID FETCH of the text
    "rest_changes_none": 1,    # target 1: EXAMINE+STATUS+UID FETCH CHANGEDSINCE pipelined (empty answer)
    "rest_changes_flag": 1,    # target 1: EXAMINE+STATUS+UID FETCH CHANGEDSINCE [VANISHED] in one
                               # write (the cursor holds the MODSEQ; flags come in the answer);
                               # only added messages cost a 2nd round trip (their summaries)
    "jmap_query_get_50": 2,    # target 2: EXAMINE+LIST-STATUS+UID SORT RETURN (SAVE PARTIAL)
                               # +UID FETCH $ (the window's GUIDs; folder map), UID FETCH; a
                               # fresh instance too (test_query_window.py)
    "jmap_email_changes": 2,   # target 2: EXAMINE+LIST-STATUS, UID FETCH CHANGEDSINCE
    "jmap_set_keywords": 1,    # target 1: LIST-STATUS+SELECT+UID SEARCH RETURN (SAVE)+UID STORE $+UNSELECT+LIST-STATUS
    "move": 1,                 # target 1: SELECT+UID FETCH (X-GUID)+UID MOVE+UNSELECT in one write
}
# REST reads address their one folder directly (EXAMINE + STATUS in one
# round trip, no LIST-STATUS of every folder, no sync NOOP), and so do REST
# edits (SELECT) and the move's destination (by path; COPYUID names it).
# JMAP Email/query of one folder and Email/set address it through the
# per-instance folder map (ib_foldermap.h), validated by the LIST-STATUS
# written in the same round trip.
# jmap_set_keywords and move each end with the UNSELECT that ends a write
# (issue 17 item 7): a pool session left SELECTed read-write would take
# \Recent from the user's other clients at its next NOOP. Email/set sends
# it in front of its last listing; the REST move at checkin.


class RoundTripTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = Dovecot(users={})
        cls.proxy = cls.gw = cls.sc = None
        try:
            cls.dv.start()
            roundtrips.seed(cls.dv, 500)
            cls.proxy = LatencyProxy(cls.dv.plain_port, ONE_WAY_SECS)
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

    def test_selection_reopened_in_the_listing_write(self):
        # a folder listing on a session that kept a selection makes it
        # current for STATUS: behind this distant server by EXAMINE in the
        # listing's own write (a NOOP there would end after the listing on
        # Dovecot), not by a NOOP round trip of its own
        self.sc.run("first_page")               # leaves INBOX selected
        _, counted = self.sc.run("folder_list")
        self.assertNotIn("NOOP", counted["by_command"], counted)
        self.assertEqual(counted["by_command"].get("EXAMINE"), 1, counted)
        self.assertEqual(counted["round_trips"], 1, counted)


if __name__ == "__main__":
    unittest.main()
