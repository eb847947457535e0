"""A real JMAP client (npm jmap-jam) end to end: session -> query -> get ->
download, then changes after an APPEND, a flag change and an expunge made by
an independent IMAP client."""
import json
import os
import shutil
import subprocess
import unittest

from fixture import REPO_ROOT, StackTestCase
from upstream import requires, skip_on

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

    @requires("CONDSTORE")
    @skip_on(("cyrus",), "mail seeded by APPEND has tied INTERNALDATEs: the test's newest message is ambiguous")
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
            # the expunged message is one the client was given (the newest):
            # with stable (GUID) ids an instance names an expunged message
            # from what it listed; one it never listed gives
            # cannotCalculateChanges (test_jmap_ids.test_expunge_never_listed),
            # never a wrong answer
            m.uid("STORE", str(uids[-2]), "+FLAGS", "(\\Deleted)")
            m.expunge()
        finally:
            m.logout()
        ch = self.jam("changes", first["state"])["changes"]
        self.assertEqual(len(ch["created"]), 1)
        self.assertEqual(len(ch["updated"]), 1)
        self.assertEqual(len(ch["destroyed"]), 1)
        self.assertFalse(set(ch["created"]) & set(ch["updated"]))
        self.assertEqual(uid_new, uids[-1])   # the new one; uids[-2] was listed, then expunged

    @requires("STABLE-IDS")
    def test_folders_with_jmap_jam(self):
        self.token = self.gw.login("alice", "alice-pw")
        out = self.jam("folders")
        self.assertEqual(out["notCreated"], {})
        a, b = out["created"]["a"]["id"], out["created"]["b"]["id"]
        self.assertEqual(out["created"]["b"]["parentId"], a)
        self.assertEqual(out["updated"], {a: None})
        got = {m["id"]: m for m in out["afterRename"]}
        self.assertEqual(got[a]["name"], "Jam Renamed")        # same id after RENAME
        self.assertEqual(got[b]["parentId"], a)                # the child moved along
        self.assertEqual(sorted(out["destroyed"]), sorted([a, b]))  # child, then parent
        self.assertEqual(out["notDestroyed"], {})
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            names = [l.decode() for l in m.list()[1]]
        finally:
            m.logout()
        self.assertFalse([n for n in names if "Jam" in n], names)

    def test_bodies_match_mailparser(self):
        """Email/get against npm mailparser on the same raw messages."""
        import tempfile
        import test_jmap_email as crafted
        self.dovecot.seed_corpus("alice", {"Archive": 60})
        for raw in (crafted.ENCODED, crafted.ATTACH):
            self.dovecot.append("alice", "alice-pw", "Archive", raw)
        token = self.gw.login("alice", "alice-pw")
        auth = {"Authorization": "Bearer " + token}
        _, _, s = self.gw.json("GET", "/.well-known/jmap", headers=auth)
        acct = s["primaryAccounts"]["urn:ietf:params:jmap:mail"]
        calls = [["Mailbox/query", {"accountId": acct, "filter": {"name": "Archive"}}, "m"],
                 ["Email/query", {"accountId": acct, "limit": 100,
                                  "#filter": {"resultOf": "m", "name": "Mailbox/query",
                                              "path": "/ids/0"}}, "q"]]
        # "#filter" cannot point inside an object: query by mailbox id directly
        _, _, out = self.gw.json("POST", "/jmap/api", {"using": [
            "urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"], "methodCalls": calls[:1]},
            headers=auth)
        box = out["methodResponses"][0][1]["ids"][0]
        _, _, out = self.gw.json("POST", "/jmap/api", {"using": [
            "urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"], "methodCalls": [
            ["Email/query", {"accountId": acct, "filter": {"inMailbox": box}, "limit": 100}, "q"],
            ["Email/get", {"accountId": acct, "fetchTextBodyValues": True,
                           "properties": ["messageId", "subject", "from", "to", "textBody",
                                          "bodyValues", "attachments"],
                           "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"}},
             "g"]]}, headers=auth)
        emails = {e["messageId"][0] if e["messageId"] else None: e
                  for e in out["methodResponses"][1][1]["list"]}
        self.assertEqual(len(emails), 62)
        m = self.dovecot.imap("alice", "alice-pw")
        tmp = tempfile.mkdtemp(dir=self.gw.dir)
        files = []
        try:
            m.select("Archive", readonly=True)
            typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
            for i, item in enumerate(x for x in data if isinstance(x, tuple)):
                path = os.path.join(tmp, "%d.eml" % i)
                with open(path, "wb") as f:
                    f.write(item[1])
                files.append(path)
        finally:
            m.logout()
        r = subprocess.run(["node", os.path.join(NODE_DIR, "clients", "mailparser_dump.mjs")]
                           + files, cwd=NODE_DIR, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        norm = lambda t: " ".join((t or "").split())
        checked = 0
        for ref in json.loads(r.stdout):
            e = emails.get(ref["messageId"].strip("<>") if ref["messageId"] else None)
            if e is None:
                continue
            checked += 1
            self.assertEqual(norm(e["subject"]), norm(ref["subject"]), ref["file"])
            self.assertEqual([a["email"].lower() for a in (e["from"] or [])],
                             [a.lower() for a in ref["from"]], ref["file"])
            text = "".join(e["bodyValues"][p["partId"]]["value"] for p in e["textBody"]
                           if p["partId"] in e["bodyValues"] and p["type"] == "text/plain")
            if ref["text"] and text:
                self.assertEqual(norm(text), norm(ref["text"]), ref["file"])
            self.assertEqual([a["name"] for a in e["attachments"] if a["name"]],
                             [n for n in ref["attachments"] if n], ref["file"])
        self.assertGreaterEqual(checked, 55)

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
