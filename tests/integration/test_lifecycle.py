"""Process behaviour: CLI flags, config checking, PIE binary, upstream down,
graceful SIGTERM during a request."""
import os
import signal
import subprocess
import threading
import time
import unittest

from fixture import REPO_ROOT, Dovecot, Gateway, free_port
from slowproxy import SlowProxy

BIN = os.environ.get("JMAPGATE_BIN") or os.path.join(REPO_ROOT, "build", "jmapgate")
SECRET = os.urandom(32).hex()


def run(args, env=None, timeout=10):
    full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    full.update(env or {})
    return subprocess.run([BIN] + args, env=full, capture_output=True, text=True,
                          timeout=timeout)


class CliTest(unittest.TestCase):
    def test_version_and_help(self):
        r = run(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^jmapgate \d+\.\d+\.\d+")
        r = run(["--help"])
        self.assertEqual(r.returncode, 0)
        for name in ("JMAPGATE_LISTEN", "JMAPGATE_PUBLIC_URL", "JMAPGATE_IMAP_URL",
                     "JMAPGATE_SECRET", "JMAPGATE_TLS_CA_FILE", "JMAPGATE_LOG_LEVEL",
                     "JMAPGATE_TOKEN_TTL", "JMAPGATE_WATCH_GRACE"):
            self.assertIn(name, r.stdout)

    def test_check_config(self):
        ok = {"JMAPGATE_IMAP_URL": "imap://127.0.0.1:1", "JMAPGATE_SECRET": SECRET}
        r = run(["--check-config"], ok)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)
        bad = [
            ({"JMAPGATE_SECRET": SECRET}, "JMAPGATE_IMAP_URL"),
            ({"JMAPGATE_IMAP_URL": "imap://h"}, "JMAPGATE_SECRET"),
            (dict(ok, JMAPGATE_SECRET="abcd"), "secret"),
            (dict(ok, JMAPGATE_IMAP_URL="http://x"), "imap_url"),
            (dict(ok, JMAPGATE_LISTEN="nope"), "listen"),
            (dict(ok, JMAPGATE_LOG_LEVEL="loud"), "log_level"),
            (dict(ok, JMAPGATE_WORKERS="0"), "JMAPGATE_WORKERS"),
            (dict(ok, JMAPGATE_TLS_CA_FILE="/nonexistent.pem"), "tls_ca_file"),
        ]
        for env, word in bad:
            r = run(["--check-config"], env)
            self.assertEqual(r.returncode, 1, env)
            self.assertIn(word, r.stderr, env)
            self.assertNotIn(SECRET, r.stderr + r.stdout)

    def test_config_file(self):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"jg-{os.getpid()}.conf")
        with open(path, "w") as f:
            f.write(f"# test\nimap_url = imap://127.0.0.1:1\nsecret = \"{SECRET}\"\n")
        try:
            r = run(["--config", path, "--check-config"])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(path, "a") as f:
                f.write("no_such_setting = 1\n")
            r = run(["--config", path, "--check-config"])
            self.assertEqual(r.returncode, 1)
            self.assertIn("no_such_setting", r.stderr)
        finally:
            os.unlink(path)

    def test_binary_is_pie(self):
        out = subprocess.run(["file", "-L", BIN], capture_output=True, text=True).stdout
        self.assertIn("pie executable", out)


class UpstreamDownTest(unittest.TestCase):
    def test_503_with_retry_after(self):
        gw = Gateway(f"imap://127.0.0.1:{free_port()}", env={"JMAPGATE_IMAP_TIMEOUT": "2"})
        gw.start()
        try:
            t0 = time.time()
            st, hd, body = gw.request("POST", "/api/v1/auth/login",
                                      {"username": "alice", "password": "x"})
            self.assertEqual(st, 503, body)
            self.assertIn("retry-after", hd)
            self.assertLess(time.time() - t0, 5)
            st, hd, _ = gw.request("GET", "/readyz")
            self.assertEqual(st, 503)
            self.assertIn("retry-after", hd)
            self.assertEqual(gw.request("GET", "/healthz")[0], 200)
        finally:
            self.assertEqual(gw.stop(), 0)


class NonBlockingTest(unittest.TestCase):
    def test_slow_imap_never_blocks_the_http_threads(self):
        """LIBS.md 0.4: IMAP work runs on workers, so while several logins
        wait on a slow upstream, cheap requests still answer at once."""
        dv = Dovecot(users={"carol": "carol-pw"})
        dv.start()
        proxy = SlowProxy(dv.port, delay=2.0)
        gw = Gateway(f"imap://127.0.0.1:{proxy.port}", env={"JMAPGATE_HTTP_THREADS": "2"})
        try:
            gw.start()
            threads = [threading.Thread(target=gw.request, args=(
                "POST", "/api/v1/auth/login", {"username": "carol", "password": "carol-pw"}))
                for _ in range(6)]
            for t in threads:
                t.start()
            time.sleep(0.3)
            worst = 0.0
            for _ in range(20):
                t0 = time.time()
                self.assertEqual(gw.request("GET", "/healthz")[0], 200)
                worst = max(worst, time.time() - t0)
            self.assertLess(worst, 0.5)
            for t in threads:
                t.join(30)
        finally:
            gw.stop()
            proxy.close()
            dv.stop()


class ConcurrencyLimitTest(unittest.TestCase):
    def test_max_concurrent_jmap_requests(self):
        """The session advertises maxConcurrentRequests = 4 and it holds: with
        eight slow requests of one account in flight, the rest get the JMAP
        "limit" error, and all succeed again afterwards."""
        dv = Dovecot(users={"carol": "carol-pw"})
        dv.start()
        proxy = SlowProxy(dv.port, delay=1.5)
        gw = Gateway(f"imap://127.0.0.1:{proxy.port}", env={"JMAPGATE_POOL_PER_ACCOUNT": "8",
                                                            "JMAPGATE_ACCOUNT_BUDGET": "8"})
        try:
            gw.start()
            token = gw.login("carol", "carol-pw")
            auth = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
            _, _, s = gw.json("GET", "/.well-known/jmap", headers=auth)
            self.assertEqual(s["capabilities"]["urn:ietf:params:jmap:core"]
                             ["maxConcurrentRequests"], 4)
            acct = s["primaryAccounts"]["urn:ietf:params:jmap:mail"]
            body = {"using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                    "methodCalls": [["Mailbox/get", {"accountId": acct}, "0"]]}
            gw.stop()  # drop the warm session so every request has to connect slowly
            gw.start(port=gw.port)
            results = []
            threads = [threading.Thread(target=lambda: results.append(
                gw.json("POST", "/jmap/api", body, headers=auth))) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            ok = [r for r in results if r[0] == 200]
            limited = [r for r in results if r[0] == 400 and
                       r[2].get("limit") == "maxConcurrentRequests"]
            self.assertEqual(len(ok) + len(limited), 8, results)
            self.assertGreaterEqual(len(limited), 1)
            self.assertLessEqual(len(ok), 4)
            self.assertEqual(gw.json("POST", "/jmap/api", body, headers=auth)[0], 200)
        finally:
            if gw.proc and gw.proc.poll() is None:
                gw.stop()
            proxy.close()
            dv.stop()


class GracefulStopTest(unittest.TestCase):
    def test_sigterm_lets_the_request_finish(self):
        dv = Dovecot(users={"carol": "carol-pw"})
        dv.start()
        proxy = SlowProxy(dv.port, delay=1.5)
        gw = Gateway(f"imap://127.0.0.1:{proxy.port}")
        try:
            gw.start()
            result = {}

            def slow_login():
                result["r"] = gw.request("POST", "/api/v1/auth/login",
                                         {"username": "carol", "password": "carol-pw"})

            t = threading.Thread(target=slow_login)
            t.start()
            time.sleep(0.5)  # the request is now waiting on the slow upstream
            gw.proc.send_signal(signal.SIGTERM)
            t.join(20)
            self.assertFalse(t.is_alive())
            self.assertEqual(result["r"][0], 200, result["r"][2])
            self.assertEqual(gw.proc.wait(20), 0)
            self.assertIn("shutting down", gw.log_text())
        finally:
            if gw.proc and gw.proc.poll() is None:
                gw.stop()
            proxy.close()
            dv.stop()


if __name__ == "__main__":
    unittest.main()
