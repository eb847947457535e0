"""A real JMAP client (npm jmap-jam) end to end: session -> query -> get ->
download, then changes after an APPEND, a flag change and an expunge made by
an independent IMAP client."""
import json
import os
import shutil
import subprocess
import unittest

from fixture import REPO_ROOT, StackTestCase

NODE_DIR = os.path.join(REPO_ROOT, "tests")


@unittest.skipUnless(shutil.which("node") and
                     os.path.isdir(os.path.join(NODE_DIR, "node_modules", "jmap-jam")),
                     "needs node and npm ci in tests/ (scripts/install-deps)")
class JmapJamTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    def jam(self, *args):
        r = subprocess.run(["node", os.path.join(NODE_DIR, "clients", "jmap_jam.mjs"),
                            self.gw.base_url + "/.well-known/jmap", self.token, *args],
                           cwd=NODE_DIR, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertNotIn("error", out, out)
        return out

    def test_end_to_end(self):
        self.dovecot.seed_corpus("alice", {"INBOX": 12}, seen_every=2)
        self.token = self.gw.login("alice", "alice-pw")
        first = self.jam("list")
        self.assertEqual(first["total"], 12)
        self.assertEqual(len(first["ids"]), 5)
        dates = [e["receivedAt"] for e in first["emails"]]
        self.assertEqual(dates, sorted(dates, reverse=True))
        self.assertEqual(first["downloadStatus"], 200)
        self.assertEqual(first["downloadBytes"], self.size_of_newest())
        uid_new = self.dovecot.append("alice", "alice-pw", "INBOX",
                                      b"From: n@example.org\r\nSubject: new one\r\n\r\nhi\r\n")
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            m.select("INBOX")
            typ, data = m.uid("SEARCH", "ALL")
            uids = [int(x) for x in data[0].split()]
            m.uid("STORE", str(uids[0]), "+FLAGS", "(\\Flagged)")
            m.uid("STORE", str(uids[1]), "+FLAGS", "(\\Deleted)")
            m.expunge()
        finally:
            m.logout()
        ch = self.jam("changes", first["state"])["changes"]
        self.assertEqual(len(ch["created"]), 1)
        self.assertEqual(len(ch["updated"]), 1)
        self.assertEqual(len(ch["destroyed"]), 1)
        self.assertFalse(set(ch["created"]) & set(ch["updated"]))
        self.assertTrue(uid_new > uids[1])

    def size_of_newest(self):
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            m.select("INBOX", readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(INTERNALDATE RFC822.SIZE)")
        finally:
            m.logout()
        import imaplib
        best = max((imaplib.Internaldate2tuple(d), int(d.split(b"RFC822.SIZE ")[1].split(b")")[0]))
                   for d in data)
        return best[1]


if __name__ == "__main__":
    unittest.main()
