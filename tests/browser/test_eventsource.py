"""Push in a real browser: headless Chromium opens an EventSource with
?access_token= and receives the `changed` event for mail an independent
IMAP client delivers."""
import json
import os
import subprocess
import time
import unittest

from browser import NODE_DIR, WEB_ROOT, requires_browser, script
from fixture import StackTestCase


@requires_browser
class EventSourceTest(StackTestCase):
    USERS = {"alice": "alice-pw"}
    GATEWAY_ENV = {"JMAPGATE_WEB_ROOT": WEB_ROOT}

    def test_browser_receives_new_mail_event(self):
        token = self.gw.login("alice", "alice-pw")
        p = subprocess.Popen(["node", script("sse_event.mjs"),
                              self.gw.base_url, token, "INBOX"], cwd=NODE_DIR,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline().strip()
            self.assertEqual(line, "ready", p.stderr.read() if p.poll() is not None else line)
            t0 = time.time()
            self.dovecot.append("alice", "alice-pw", "INBOX",
                                b"Subject: pushed\r\n\r\nto the browser\r\n")
            out = json.loads(p.stdout.readline())
            elapsed = time.time() - t0
        finally:
            p.wait(30)
        self.assertIsNone(out["error"], out)
        self.assertEqual(out["data"]["mailbox"], "INBOX")
        self.assertEqual(out["data"]["reason"], "new")
        self.assertTrue(out["id"])
        self.assertLess(elapsed, 5)
        self.assertNotIn(token, self.gw.log_text())


if __name__ == "__main__":
    unittest.main()
