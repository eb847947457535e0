"""Email/set keywords in one upstream round trip (issue 19, ib_guarded.h):
the write is guarded by the message's own GUID (UID SEARCH RETURN (SAVE
ALL) UID u X-GUID g + UID STORE $), so a stale cached place writes nothing
to another message, and the email is then found and written the classic
way. Against a real Dovecot; the round trips are counted at a proxy."""
import unittest

from fixture import Dovecot, Gateway, close_all
from latencyproxy import LatencyProxy
from test_folder_map import Client, message

USER, PASSWORD = "fm", "fm-pw"


class GuardedSetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = Dovecot(users={USER: PASSWORD}, max_userip_connections=40)
        cls.proxy = cls.gw = None
        try:
            cls.dv.start()
            cls.proxy = LatencyProxy(cls.dv.plain_port, 0.0)
            cls.gw = Gateway("imap://127.0.0.1:%d" % cls.proxy.port)
            cls.gw.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        close_all(cls.gw, cls.proxy, cls.dv)

    serial = 0

    def setUp(self):
        # new folder names per test: Dovecot (maildir) can fail a COPY into
        # a folder deleted and created again within the same second
        GuardedSetTest.serial += 1
        self.box, self.other = "Box%d" % self.serial, "Other%d" % self.serial
        self.imap = self.dv.imap(USER, PASSWORD)
        for name in (self.box, self.other):
            typ, data = self.imap.create(name)
            self.assertEqual(typ, "OK", data)
        for i in range(3):
            self.dv.append(USER, PASSWORD, self.box, message(i))
        self.c = Client(self.gw)
        self.mids = self.c.mailbox_ids()                 # fills the folder map
        ids, _ = self.c.query(self.mids[self.box])          # fills the location cache
        got = self.c.api(["Email/get", {"ids": ids, "properties": ["subject"]}])[0]
        self.by_subject = {e["subject"]: e["id"] for e in got["list"]}

    def tearDown(self):
        self.imap.logout()

    def flags(self, folder):
        """subject -> IMAP flags of every message in folder, straight from Dovecot."""
        self.imap.select(folder)
        typ, data = self.imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.imap.close()
        out = {}
        for item in data:
            if isinstance(item, tuple):
                subject = item[1].decode().split(":", 1)[1].strip()
                out[subject] = item[0].decode().split("FLAGS (")[1].split(")")[0].split()
        return out

    def flag(self, eid, value=True):
        self.proxy.reset()
        got = self.c.api(["Email/set", {"update": {eid: {"keywords/$flagged": value,
                                                         "keywords/$seen": value}}}])[0]
        return got, self.proxy.totals()

    def test_one_round_trip_keeps_the_id_and_changes_report_it(self):
        eid = self.by_subject["fm1"]
        old = self.c.api(["Email/get", {"ids": [], "properties": ["id"]}])[0]["state"]
        got, counted = self.flag(eid)
        self.assertEqual(list(got["updated"]), [eid], got)
        self.assertEqual(counted["round_trips"], 1, counted)
        self.assertEqual(counted["by_command"].get("UID SEARCH"), 1, counted)
        self.assertEqual(got["oldState"], old)
        self.assertIn("\\Flagged", self.flags(self.box)["fm1"])
        self.assertNotIn("\\Flagged", self.flags(self.box)["fm0"])
        ch = self.c.api(["Email/changes", {"sinceState": old}])[0]
        self.assertEqual(ch["updated"], [eid], ch)
        self.assertEqual(ch["newState"], got["newState"])
        got = self.c.api(["Email/get", {"ids": [eid], "properties": ["keywords",
                                                                     "mailboxIds"]}])[0]
        self.assertEqual(got["list"][0]["keywords"], {"$flagged": True, "$seen": True})
        self.assertEqual(got["list"][0]["mailboxIds"], {self.mids[self.box]: True})
        # and off again: -FLAGS in the same kind of write
        got, counted = self.flag(eid, None)
        self.assertEqual(list(got["updated"]), [eid], got)
        self.assertEqual(counted["round_trips"], 1, counted)
        self.assertEqual(self.flags(self.box)["fm1"], [])

    def test_message_moved_away_behind_the_gateway(self):
        eid = self.by_subject["fm0"]
        self.imap.select(self.box)
        typ, data = self.imap.search(None, "SUBJECT", "fm0")
        r = self.imap.copy(data[0], self.other)
        self.assertEqual(r[0], "OK", (r, data))
        self.imap.store(data[0], "+FLAGS", "\\Deleted")
        self.imap.expunge()
        self.imap.close()
        got, counted = self.flag(eid)
        self.assertEqual(list(got["updated"]), [eid], got)
        self.assertGreater(counted["round_trips"], 1, counted)   # the guard missed: located anew
        self.assertIn("\\Flagged", self.flags(self.other)["fm0"])
        self.assertEqual({s: f for s, f in self.flags(self.box).items() if "\\Flagged" in f}, {})

    def test_folder_deleted_and_recreated_with_another_message_at_that_uid(self):
        eid = self.by_subject["fm0"]                      # UID 1 of Box
        self.imap.select(self.box)
        typ, data = self.imap.search(None, "SUBJECT", "fm0")
        r = self.imap.copy(data[0], self.other)
        self.assertEqual(r[0], "OK", (r, data))
        self.imap.close()
        self.assertEqual(self.imap.delete(self.box)[0], "OK")
        self.imap.create(self.box)                           # same second: maybe the same UIDVALIDITY
        self.dv.append(USER, PASSWORD, self.box, message(7)) # another message at UID 1
        got, counted = self.flag(eid)
        self.assertEqual(list(got["updated"]), [eid], got)
        # the guarded write (its SEARCH found nothing), then located anew
        self.assertGreater(counted["round_trips"], 1, counted)
        self.assertGreaterEqual(counted["by_command"].get("UID SEARCH", 0), 2, counted)
        self.assertEqual(self.flags(self.box)["fm7"], [])    # nothing written to the stranger
        self.assertIn("\\Flagged", self.flags(self.other)["fm0"])
        mine = self.c.api(["Email/get", {"ids": [eid], "properties": ["mailboxIds"]}])[0]
        self.assertEqual(mine["list"][0]["mailboxIds"], {self.mids[self.other]: True})


if __name__ == "__main__":
    unittest.main()
