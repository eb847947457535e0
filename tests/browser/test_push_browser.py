"""Push in a real headless Chromium: EventSource authenticated by the
HttpOnly login cookie receives the gateway's events when an independent IMAP
client appends a message."""
import json
import re
import subprocess
import time
import unittest

from browser import NODE_DIR, WEB_ROOT, requires_browser, script
from fixture import StackTestCase

MSG = b"From: a@example.org\r\nSubject: browser push\r\n\r\nhello\r\n"


@requires_browser
class BrowserPushTest(StackTestCase):
    USERS = {"alice": "alice-pw"}
    GATEWAY_ENV = {"JMAPGATE_WEB_ROOT": WEB_ROOT}

    def idle_connections(self):
        _, _, body = self.gw.request("GET", "/metrics")
        m = re.search(r"^jmapgate_push_idle_connections (\S+)$", body.decode(), re.M)
        return float(m.group(1)) if m else 0

    def test_eventsource_gets_events(self):
        proc = subprocess.Popen(["node", script("push_eventsource.mjs"),
                                 self.gw.base_url, "alice", "alice-pw"],
                                cwd=NODE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        line = proc.stdout.readline()
        if line.strip() != "READY":
            out, err = proc.communicate(timeout=60)
            self.fail("browser not ready: %r %r %r" % (line, out, err))
        deadline = time.monotonic() + 10
        while self.idle_connections() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.dovecot.append("alice", "alice-pw", "INBOX", MSG)
        out, err = proc.communicate(timeout=60)
        res = json.loads(out.strip().splitlines()[-1])
        self.assertIsNone(res["error"], (res, err))
        self.assertEqual(res["rest"]["data"]["mailbox"], "INBOX")
        self.assertEqual(res["rest"]["data"]["reason"], "new")
        self.assertTrue(res["rest"]["id"].isdigit())
        self.assertEqual(res["jmap"]["data"]["@type"], "StateChange")


if __name__ == "__main__":
    unittest.main()
