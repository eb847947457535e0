"""The upstream profile's declared capabilities (tests/support/upstream.py,
what @requires skips on) match what its live server says: every declared
capability is offered after login, every one the profile lacks is not,
and X-GUID is declared exactly when the greeting names Dovecot (the
gateway's sign for X-GUID). Runs under each JMAPGATE_UPSTREAM profile."""
import socket
import unittest

import upstream
from fixture import make_upstream

NOT_CAPS = {"DOVECOT", "X-GUID", "STABLE-IDS"}   # fixture features, not CAPABILITY words
ALL = set().union(*upstream.CAPS.values()) - NOT_CAPS


class UpstreamProfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = make_upstream(users={"alice": "alice-pw"})
        try:
            cls.server.start()
        except BaseException:
            cls.server.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_declared_caps_are_offered_and_the_rest_are_not(self):
        m = self.server.imap("alice", "alice-pw")
        self.addCleanup(m.logout)
        live = {c.upper() for c in m.capability()[1][0].decode().split()}
        declared = upstream.CAPS[upstream.NAME] - NOT_CAPS
        self.assertEqual(declared - live, set(), "declared but not offered")
        self.assertEqual((ALL - declared) & live, set(), "offered but not declared")

    def test_x_guid_iff_greeting_names_dovecot(self):
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as s:
            greeting = s.makefile("rb").readline().decode()
        self.assertEqual("Dovecot" in greeting, upstream.has("X-GUID"), greeting)


if __name__ == "__main__":
    unittest.main()
