"""Hardening against hostile clients (issue 17), against a real Dovecot:
strict HTTP framing, a chunked body cut off at max_body, /readyz with a
frozen upstream, the failed-login limiter and the client address passed
upstream, and reads that leave \\Recent to the user's other clients."""
import json
import socket
import time
import unittest

from fixture import StackTestCase


def raw_exchange(port, data, timeout=5.0, settle=None):
    """Send data on a fresh connection and read until the server closes it
    (or timeout). Returns (response bytes, seconds until closed or None)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return out, time.monotonic() - t0
            except socket.timeout:
                return out, None
            if not chunk:
                return out, time.monotonic() - t0
            out += chunk
    finally:
        s.close()


def status_of(resp):
    line = resp.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") else None


def problem_of(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    assert b"application/problem+json" in head, head
    return json.loads(body)


class StrictHttpTest(StackTestCase):
    USERS = {"alice": "alicepass"}
    GATEWAY_ENV = {"JMAPGATE_MAX_BODY": "64k"}

    def expect_400(self, request, why):
        resp, closed = raw_exchange(self.gw.port, request)
        self.assertEqual(status_of(resp), 400, (why, resp[:300]))
        self.assertIsNotNone(closed, why + ": the connection must be closed")
        return resp

    def test_http11_without_host(self):
        self.expect_400(b"GET /healthz HTTP/1.1\r\n\r\n", "no Host")
        resp, _ = raw_exchange(self.gw.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(resp), 200)

    def test_transfer_encoding_with_content_length(self):
        body = b'{"username":"alice","password":"alicepass"}'
        resp = self.expect_400(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
            % (len(body), len(body), body), "TE + CL")
        self.assertIn("Transfer-Encoding together with Content-Length", problem_of(resp)["detail"])
        self.expect_400(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked"
                        b"\r\n\r\n0\r\n\r\n", "TE other than chunked")
        self.expect_400(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                        b"Content-Length: 3\r\n\r\n{}x", "two Content-Length")
        self.expect_400(b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "two Host")

    def test_folded_and_malformed_field_names(self):
        # MHD glues an obs-fold continuation onto the field name; one with a
        # space in it (the usual case) is then no token and is refused.
        self.expect_400(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded value\r\n\r\n",
                        "folded header")
        self.expect_400(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n",
                        "space before the colon")
        # A fold cannot extend a framing header: the continuation never joins
        # Transfer-Encoding's value, so the body is not read as chunked.
        resp, _ = raw_exchange(self.gw.port,
                               b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               b" , gzip\r\n\r\n0\r\n\r\n")
        self.assertEqual(status_of(resp), 400, resp[:200])

    def test_bare_lf(self):
        # Verified: MHD 0.9.75 accepts bare-LF line endings at any strictness
        # and the handler cannot see them. They still parse as one request
        # with the same headers a CRLF parser sees (no smuggling between the
        # two), and the framing checks apply to them too.
        resp, _ = raw_exchange(self.gw.port, b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n")
        self.assertEqual(status_of(resp), 200)
        resp, _ = raw_exchange(self.gw.port, b"POST /api/v1/auth/login HTTP/1.1\nHost: x\n"
                               b"Content-Length: 5\nTransfer-Encoding: chunked\n\n0\r\n\r\n")
        self.assertEqual(status_of(resp), 400)

    def test_chunked_body_over_max_body_cut_off(self):
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        try:
            s.sendall(b"POST /jmap HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Authorization: Basic YWxpY2U6YWxpY2VwYXNz\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"7fffffff\r\n")
            t0 = time.monotonic()
            sent = 0
            resp = b""
            s.setblocking(False)
            block = b"x" * 16384
            # Keep sending (as a hostile client would) until the gateway answers.
            while time.monotonic() - t0 < 10:
                try:
                    sent += s.send(block)
                except (BlockingIOError, ConnectionResetError, BrokenPipeError):
                    pass
                try:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    resp += chunk
                except BlockingIOError:
                    time.sleep(0.001)
                except ConnectionResetError:
                    break
            elapsed = time.monotonic() - t0
        finally:
            s.close()
        self.assertEqual(status_of(resp), 413, resp[:300])
        self.assertIn(b"Connection: close", resp)
        self.assertIn("max_body", problem_of(resp)["detail"])
        self.assertLess(elapsed, 2.0)
        self.assertLess(sent, 4 * 1024 * 1024, "the gateway read far past max_body (64k)")

    def test_small_chunked_body_still_works(self):
        body = b'{"username":"alice","password":"alicepass"}'
        resp, _ = raw_exchange(self.gw.port,
                               b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        self.assertEqual(status_of(resp), 200, resp[:300])


class ReadyzTest(StackTestCase):
    USERS = {"alice": "alicepass"}
    GATEWAY_ENV = {"JMAPGATE_IMAP_TIMEOUT": "15", "JMAPGATE_READYZ_TIMEOUT": "2"}

    def test_frozen_upstream_503_within_deadline_and_cached(self):
        st, _, doc = self.gw.json("GET", "/readyz")
        self.assertEqual((st, doc["status"]), (200, "ready"))
        time.sleep(1.05)
        with self.dovecot.frozen():
            t0 = time.monotonic()
            st, hd, doc = self.gw.json("GET", "/readyz", timeout=10)
            first = time.monotonic() - t0
            self.assertEqual(st, 503, doc)
            self.assertIn("retry-after", hd)
            self.assertIn("timed out", doc["detail"])
            self.assertGreater(first, 1.5)
            self.assertLess(first, 3.0)
            # Ten probes at once within the cache second: no pile-up, the
            # cached answer comes back at once.
            import concurrent.futures
            t1 = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(10) as ex:
                sts = list(ex.map(lambda _: self.gw.json("GET", "/readyz", timeout=10)[0], range(10)))
            self.assertEqual(sts, [503] * 10)
            self.assertLess(time.monotonic() - t1, 0.5)
        deadline = time.monotonic() + 5
        while self.gw.json("GET", "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.gw.json("GET", "/readyz")[0], 200)


class LoginFloodTest(StackTestCase):
    """A flood of wrong passwords from one client address (X-Forwarded-For
    through a trusted proxy: the test client's 127.0.0.1) while a good user
    logs in from another. Dovecot's own auth penalty is on (as in
    production) and keyed by the address the gateway passes in ID."""
    USERS = {"alice": "alicepass", "bob": "bobpass"}
    DOVECOT_KW = {"extra_conf": "auth_failure_delay = 2 secs\n"
                                "service anvil {\n  unix_listener anvil-auth-penalty {\n"
                                "    mode = 0600\n  }\n}\n"}
    GATEWAY_ENV = {"JMAPGATE_TRUSTED_PROXIES": "127.0.0.1",
                   "JMAPGATE_LOGIN_FAIL_LIMIT": "5", "JMAPGATE_LOGIN_FAIL_WINDOW": "600"}

    def login(self, user, password, ip):
        t0 = time.monotonic()
        st, hd, doc = self.gw.json("POST", "/api/v1/auth/login",
                                   {"username": user, "password": password},
                                   headers={"X-Forwarded-For": ip}, timeout=30)
        return st, hd, doc, time.monotonic() - t0

    def test_flood_gets_401_then_429_and_good_user_stays_fast(self):
        import concurrent.futures
        results = []
        good = []

        def flood(i):
            return self.login("nouser%d" % i, "wrong", "192.0.2.66")

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            futs = [ex.submit(flood, i) for i in range(24)]
            time.sleep(0.3)
            for _ in range(3):
                good.append(self.login("alice", "alicepass", "198.51.100.7"))
                time.sleep(0.2)
            results = [f.result() for f in futs]
        statuses = [r[0] for r in results]
        self.assertTrue(set(statuses) <= {401, 429}, statuses)  # never 504
        self.assertIn(401, statuses)
        self.assertIn(429, statuses)
        self.assertLessEqual(statuses.count(401), 5 + 8)  # the limit, plus those in flight
        for st, hd, doc, _ in results:
            if st == 429:
                self.assertGreaterEqual(int(hd["retry-after"]), 1)
                self.assertEqual(doc["status"], 429)
        for st, _, doc, secs in good:
            self.assertEqual(st, 200, doc)
            self.assertLess(secs, 1.0)
        # Later tries from the flooding address are refused at once, before IMAP.
        st, hd, _, secs = self.login("alice", "alicepass", "192.0.2.66")
        self.assertEqual(st, 429)
        self.assertLess(secs, 0.2)
        # Dovecot saw the real addresses (x-originating-ip), not the gateway's.
        log = self.dovecot.log_text()
        self.assertIn("rip=192.0.2.66", log)
        self.assertIn("rip=198.51.100.7", log)

    def test_basic_auth_goes_through_the_limiter(self):
        import base64
        ip = "203.0.113.9"
        hdr = {"Authorization": "Basic " + base64.b64encode(b"bob:nope").decode(),
               "X-Forwarded-For": ip}
        # Each refusal takes Dovecot's auth_failure_delay and penalty (2-8 s)
        # while the count drains at 5 per 10 minutes: at most one extra.
        sts = []
        while len(sts) < 10 and 429 not in sts:
            sts.append(self.gw.json("GET", "/api/v1/mailboxes", headers=hdr)[0])
        self.assertEqual(sts[-1], 429, sts)
        self.assertEqual(sts[:5], [401] * 5)
        self.assertLessEqual(len(sts), 7, sts)
        st, hd, doc = self.gw.json("GET", "/api/v1/mailboxes", headers={
            "Authorization": "Basic " + base64.b64encode(b"bob:bobpass").decode(),
            "X-Forwarded-For": ip})
        self.assertEqual(st, 429)
        self.assertIn("retry-after", hd)
        self.assertEqual(hd.get("content-type"), "application/problem+json")
        # bob himself from elsewhere: the user's own count (5 failures) is at
        # the limit too, so a guesser cannot go on from other addresses.
        st, _, _ = self.gw.json("GET", "/api/v1/mailboxes", headers={
            "Authorization": "Basic " + base64.b64encode(b"bob:bobpass").decode(),
            "X-Forwarded-For": "198.51.100.99"})
        self.assertEqual(st, 429)


if __name__ == "__main__":
    unittest.main()
