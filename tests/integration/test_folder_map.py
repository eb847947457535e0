"""The per-account folder map (issue 11 item 7, issue 19): an instance
remembers each account's folders (id <-> wire name) from its listings and
uses them to pipeline a one-folder Email/query with the listing that
validates it. Correctness never depends on the cache: after a folder is
renamed, or deleted and created again, behind the gateway's back, the
instance with a warm map answers exactly as a second instance that never
saw the account (cold map, the classic path)."""
import time
import unittest

from fixture import Dovecot, Gateway, close_all
from jmapclient import JmapClient
from latencyproxy import LatencyProxy

USER, PASSWORD = "fm", "fm-pw"


def message(i):
    return (b"Subject: fm%d\r\nMessage-ID: <fm%d@x>\r\nFrom: a@x\r\nTo: b@x\r\n\r\nbody %d\r\n"
            % (i, i, i))


class Client(JmapClient):
    """One gateway, logged in as USER."""

    def __init__(self, gw):
        super().__init__(gw, USER, PASSWORD)

    def query(self, mid):
        """(ids, queryState) of Email/query inMailbox mid, newest first."""
        q = self.api(["Email/query", {"filter": {"inMailbox": mid},
                                      "sort": [{"property": "receivedAt",
                                                "isAscending": False}]}])[0]
        return q.get("ids"), q.get("queryState")


class FolderMapTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # two gateways, each with its pool, and the test's own client
        cls.dv = Dovecot(users={USER: PASSWORD}, max_userip_connections=40)
        cls.proxy = cls.warm_gw = cls.cold_gw = None
        try:
            cls.dv.start()
            cls.proxy = LatencyProxy(cls.dv.plain_port, 0.0)
            cls.warm_gw = Gateway("imap://127.0.0.1:%d" % cls.proxy.port)
            cls.warm_gw.start()
            cls.cold_gw = Gateway("imap://127.0.0.1:%d" % cls.dv.plain_port,
                                  secret=cls.warm_gw.secret)
            cls.cold_gw.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        close_all(cls.cold_gw, cls.warm_gw, cls.proxy, cls.dv)

    def setUp(self):
        self.imap = self.dv.imap(USER, PASSWORD)

    def tearDown(self):
        for name in ("Box", "Box2"):
            if self.imap.delete(name)[0] != "OK":
                time.sleep(1.1)   # Dovecot: a folder deleted and created again within a second
                self.imap.delete(name)
        self.imap.logout()

    def seed(self, name, first, n):
        self.imap.create(name)
        for i in range(first, first + n):
            self.dv.append(USER, PASSWORD, name, message(i))

    def same_answer(self, mid):
        """The warm instance's answer, checked against the cold one's."""
        cold = Client(self.cold_gw)   # a fresh login: nothing cached for this request
        warm_answer, cold_answer = self.warm.query(mid), cold.query(mid)
        self.assertEqual(warm_answer, cold_answer)
        return warm_answer

    def test_warm_map_pipelines_and_agrees_after_rename_and_recreate(self):
        self.seed("Box", 0, 3)
        self.warm = Client(self.warm_gw)
        mid = self.warm.mailbox_ids()["Box"]            # fills the map
        self.proxy.reset()
        ids, _ = self.same_answer(mid)
        counted = self.proxy.totals()
        self.assertEqual(len(ids), 3)
        # EXAMINE Box + LIST-STATUS + UID SORT in one write, then the GUIDs
        # (stable Email ids) of the window: these messages were never listed,
        # so the location cache does not know them yet
        self.assertEqual(counted["round_trips"], 2, counted)
        self.assertEqual(counted["by_command"].get("UID SORT"), 1, counted)
        self.assertEqual(counted["by_command"].get("UID FETCH"), 1, counted)

        # the session keeps Box selected; on this near server (no delay)
        # the next request syncs it with a NOOP rather than reopening it
        self.proxy.reset()
        self.assertEqual(self.warm.query(mid)[0], ids)
        counted = self.proxy.totals()
        self.assertEqual(counted["by_command"].get("NOOP"), 1, counted)
        self.assertNotIn("EXAMINE", counted["by_command"], counted)
        self.assertEqual(counted["round_trips"], 2, counted)

        # renamed behind the gateway's back: the map's name is gone
        self.assertEqual(self.imap.rename("Box", "Box2")[0], "OK")
        ids2, _ = self.same_answer(mid)
        self.assertEqual(ids2, ids)                      # the id follows the folder (X-GUID)

        # deleted and created again under the map's name: a new folder id
        self.assertEqual(self.imap.rename("Box2", "Box")[0], "OK")
        self.warm.mailbox_ids()                          # the map knows "Box" again
        self.assertEqual(self.imap.delete("Box")[0], "OK")
        self.seed("Box", 10, 2)
        old_ids, _ = self.same_answer(mid)
        self.assertEqual(old_ids, [])                    # the old mailbox is gone
        new_mid = self.warm.mailbox_ids()["Box"]
        self.assertNotEqual(new_mid, mid)
        new_ids, _ = self.same_answer(new_mid)
        self.assertEqual(len(new_ids), 2)
        self.assertFalse(set(new_ids) & set(ids))

    def flagged(self, name, subject):
        """Is the message with that subject in folder name \\Flagged?"""
        self.imap.select(name)
        typ, data = self.imap.search(None, "SUBJECT", subject)
        self.assertEqual(typ, "OK")
        typ, data = self.imap.fetch(data[0].split()[0], "(FLAGS)")
        self.imap.close()
        return b"\\Flagged" in data[0]

    def flag(self, eid):
        got = self.warm.api(["Email/set", {"update": {eid: {"keywords/$flagged": True}}}])[0]
        return got

    def test_email_set_from_the_map_and_after_rename_and_recreate(self):
        self.seed("Box", 20, 3)
        self.warm = Client(self.warm_gw)
        mid = self.warm.mailbox_ids()["Box"]            # fills the map
        ids, _ = self.warm.query(mid)
        subject = {e["id"]: e["subject"] for e in self.warm.api(
            ["Email/get", {"ids": ids, "properties": ["subject"]}])[0]["list"]}
        self.proxy.reset()
        got = self.flag(ids[0])
        counted = self.proxy.totals()
        self.assertIn(ids[0], got["updated"], got)
        self.assertNotEqual(got["oldState"], got["newState"])
        # one write: LIST-STATUS, SELECT, UID SEARCH RETURN (SAVE ALL) by
        # UID and X-GUID, UID STORE $, UNSELECT, LIST-STATUS (ib_guarded.h)
        self.assertEqual(counted["round_trips"], 1, counted)
        self.assertEqual(counted["commands"], 6, counted)
        self.assertEqual(counted["by_command"].get("UNSELECT"), 1, counted)
        self.assertTrue(self.flagged("Box", subject[ids[0]]))

        # renamed behind the gateway's back: the map's name is gone, the
        # classic way finds the folder by its id
        self.assertEqual(self.imap.rename("Box", "Box2")[0], "OK")
        got = self.flag(ids[1])
        self.assertIn(ids[1], got["updated"], got)
        self.assertTrue(self.flagged("Box2", subject[ids[1]]))
        cold = Client(self.cold_gw)
        self.assertEqual(got["newState"],
                         cold.api(["Email/get", {"ids": [], "properties": ["id"]}])[0]["state"])

        # deleted and created again under the map's name: the old ids are gone
        self.assertEqual(self.imap.rename("Box2", "Box")[0], "OK")
        self.warm.mailbox_ids()                          # the map knows "Box" again
        self.assertEqual(self.imap.delete("Box")[0], "OK")
        self.seed("Box", 20, 3)                          # same messages, same UIDs, new folder
        got = self.flag(ids[2])
        self.assertEqual(list(got["notUpdated"]), [ids[2]], got)
        self.assertFalse(self.flagged("Box", subject[ids[2]]))


if __name__ == "__main__":
    unittest.main()
