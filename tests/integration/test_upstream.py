"""The IMAP side against a real Dovecot: TLS verification (imaps and
STARTTLS), socket numbers above 1023, pool reuse and caps, and recovery when
Dovecot restarts or goes away."""
import concurrent.futures
import os
import resource
import socket
import time
import unittest

from fixture import Dovecot, Gateway

USERS = {"dave": "dave-pw", "erin": "erin-pw"}


def mailboxes(gw, user, password):
    return gw.json("GET", "/api/v1/mailboxes",
                   headers={"Authorization": "Basic " +
                            __import__("base64").b64encode(f"{user}:{password}".encode()).decode()})


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = Dovecot(users=USERS, tls=True)
        cls.dv.start()

    @classmethod
    def tearDownClass(cls):
        cls.dv.stop()

    def login_status(self, url, env):
        gw = Gateway(url, env=dict(env, JMAPGATE_IMAP_TIMEOUT="5"))
        gw.start()
        try:
            st, _, doc = gw.json("POST", "/api/v1/auth/login",
                                 {"username": "dave", "password": "dave-pw"})
            return st, doc, gw.log_text()
        finally:
            self.assertEqual(gw.stop(), 0)

    def test_imaps_refused_without_trust(self):
        st, doc, log = self.login_status(self.dv.url, {})
        self.assertIn(st, (502, 503), doc)
        self.assertNotIn("dave-pw", log)

    def test_imaps_with_ca_file(self):
        st, doc, _ = self.login_status(self.dv.url, {"JMAPGATE_TLS_CA_FILE": self.dv.cert_file})
        self.assertEqual(st, 200, doc)

    def test_imaps_wrong_host_name_refused(self):
        url = self.dv.url.replace("localhost", "127.0.0.2")
        st, doc, _ = self.login_status(url, {"JMAPGATE_TLS_CA_FILE": self.dv.cert_file})
        self.assertIn(st, (502, 503), doc)

    def test_starttls(self):
        url = f"imap+starttls://localhost:{self.dv.starttls_port}"
        st, doc, _ = self.login_status(url, {})
        self.assertIn(st, (502, 503), doc)
        st, doc, _ = self.login_status(url, {"JMAPGATE_TLS_CA_FILE": self.dv.cert_file})
        self.assertEqual(st, 200, doc)


class CompressTest(unittest.TestCase):
    """RFC 4978 COMPRESS=DEFLATE in our stream driver: the same answers with
    and without it, against a Dovecot with imap_zlib."""

    def test_same_results_compressed_and_not(self):
        dv = Dovecot(users=USERS, compress=True)
        dv.start()
        try:
            dv.seed_corpus("dave", {"INBOX": 40})
            results = {}
            for flag in ("true", "false"):
                gw = Gateway(dv.url, env={"JMAPGATE_IMAP_COMPRESS": flag})
                gw.start()
                try:
                    auth = {"Authorization": "Bearer " + gw.login("dave", "dave-pw")}
                    _, _, folders = gw.json("GET", "/api/v1/mailboxes", headers=auth)
                    _, _, s = gw.json("GET", "/.well-known/jmap", headers=auth)
                    acct = s["primaryAccounts"]["urn:ietf:params:jmap:mail"]
                    _, _, out = gw.json("POST", "/jmap/api", {
                        "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                        "methodCalls": [
                            ["Email/query", {"accountId": acct, "limit": 40}, "q"],
                            ["Email/get", {"accountId": acct, "fetchAllBodyValues": True,
                                           "properties": ["subject", "from", "bodyValues",
                                                          "preview", "size"],
                                           "#ids": {"resultOf": "q", "name": "Email/query",
                                                    "path": "/ids"}}, "g"]]}, headers=auth)
                    for m in folders["mailboxes"]:
                        m.pop("highestModseq", None)
                        m.pop("cursor", None)  # carries HIGHESTMODSEQ too
                    results[flag] = (folders, out["methodResponses"][1][1]["list"])
                    log = gw.log_text()
                finally:
                    self.assertEqual(gw.stop(), 0)
                self.assertEqual("COMPRESS=DEFLATE on" in log, flag == "true", flag)
            self.assertEqual(len(results["true"][1]), 40)
            self.assertEqual(results["true"], results["false"])
        finally:
            dv.stop()


class PoolTest(unittest.TestCase):
    def setUp(self):
        self.dv = Dovecot(users=USERS)
        self.dv.start()
        self.gws = []

    def tearDown(self):
        for gw in self.gws:
            if gw.proc and gw.proc.poll() is None:
                gw.stop()
        self.dv.stop()

    def gateway(self, **env):
        gw = Gateway(self.dv.url, env=env)
        gw.start()
        self.gws.append(gw)
        return gw

    def test_request_after_1100_descriptors(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 2500:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        gw = self.gateway(JMAPGATE_MAX_CONNECTIONS="5000")
        held = []
        try:
            for _ in range(1100):
                s = socket.create_connection(("127.0.0.1", gw.port))
                held.append(s)
            time.sleep(0.5)
            fds = len(os.listdir(f"/proc/{gw.proc.pid}/fd"))
            self.assertGreater(fds, 1100)
            st, _, doc = mailboxes(gw, "dave", "dave-pw")
            self.assertEqual(st, 200, doc)
            self.assertIsNone(gw.proc.poll())
        finally:
            for s in held:
                s.close()

    def test_per_account_cap(self):
        gw = self.gateway(JMAPGATE_POOL_PER_ACCOUNT="2")
        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = list(ex.map(lambda _: mailboxes(gw, "dave", "dave-pw")[0], range(16)))
        self.assertEqual(results, [200] * 16)
        self.assertLessEqual(self.dv.connection_count("dave"), 2)
        self.assertGreaterEqual(self.dv.connection_count("dave"), 1)

    def test_dovecot_restart_with_session_checked_in(self):
        gw = self.gateway()
        self.assertEqual(mailboxes(gw, "erin", "erin-pw")[0], 200)
        self.dv.restart()
        st, _, doc = mailboxes(gw, "erin", "erin-pw")
        self.assertEqual(st, 200, doc)

    def test_dovecot_down_then_back(self):
        gw = self.gateway(JMAPGATE_IMAP_TIMEOUT="3")
        self.assertEqual(mailboxes(gw, "erin", "erin-pw")[0], 200)
        self.assertEqual(gw.json("GET", "/readyz")[0], 200)
        self.dv.stop()
        time.sleep(1.05)  # past the cached answer
        t0 = time.time()
        st, hd, _ = gw.json("GET", "/readyz")
        self.assertEqual(st, 503)
        self.assertIn("retry-after", hd)
        # Dovecot ends its imap processes right after the master exits; a
        # request may still ride the old connection until then.
        while True:
            st, hd, doc = mailboxes(gw, "erin", "erin-pw")
            if st != 200 or time.time() - t0 > 5:
                break
            time.sleep(0.1)
        self.assertEqual(st, 503, doc)
        self.assertIn("retry-after", hd)
        self.assertLess(time.time() - t0, 10)
        self.dv.start()
        # /readyz keeps its answer for a second.
        deadline = time.time() + 3
        while gw.json("GET", "/readyz")[0] != 200 and time.time() < deadline:
            time.sleep(0.2)
        self.assertEqual(gw.json("GET", "/readyz")[0], 200)
        self.assertEqual(mailboxes(gw, "erin", "erin-pw")[0], 200)


if __name__ == "__main__":
    unittest.main()
