"""The web client in a real headless Chromium against a real Dovecot:
log in through the page, see the folders with the right counts, and the
login cookie stays out of JavaScript's reach (HttpOnly)."""
import json
import os
import subprocess
import time
import unittest

from browser import NODE_DIR, WEB_ROOT, requires_browser, script
from fixture import StackTestCase


@requires_browser
class WebClientTest(StackTestCase):
    USERS = {"alice": "alice-pw"}
    GATEWAY_ENV = {"JMAPGATE_WEB_ROOT": WEB_ROOT}

    def test_login_and_folders(self):
        self.dovecot.seed_corpus("alice", {"INBOX": 12, "Archive": 3}, seen_every=3)
        shot = os.path.join(self.gw.dir, "web.png")
        r = subprocess.run(["node", script("web_login.mjs"),
                            self.gw.base_url, "alice", "alice-pw", shot],
                           cwd=NODE_DIR, capture_output=True, text=True, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertIsNone(out["error"], out)
        rows = {row[0]: row for row in out["rows"]}
        self.assertEqual(rows["INBOX"][1], "inbox")
        self.assertEqual(rows["INBOX"][3], "12")
        self.assertEqual(rows["Archive"][3], "3")
        imap = self.dovecot.imap("alice", "alice-pw")
        try:
            unseen = int(imap.status("INBOX", "(UNSEEN)")[1][0].decode().split()[-1].rstrip(")"))
        finally:
            imap.logout()
        self.assertEqual(rows["INBOX"][2], str(unseen))
        self.assertTrue(out["cookieHttpOnly"])
        self.assertFalse(out["scriptSeesCookie"])
        self.assertGreater(os.path.getsize(shot), 1000)

    def test_static_files_and_etags(self):
        st, _, _ = self.gw.request("GET", "/")
        self.assertEqual(st, 200)
        st, hd, body = self.gw.request("GET", "/app.js")
        self.assertEqual(st, 200)
        self.assertTrue(hd["content-type"].startswith("text/javascript"))
        st, hd2, _ = self.gw.request("GET", "/app.js", headers={"If-None-Match": hd["etag"]})
        self.assertEqual(st, 304)
        self.assertEqual(self.gw.request("GET", "/nope.js")[0], 404)


if __name__ == "__main__":
    unittest.main()
