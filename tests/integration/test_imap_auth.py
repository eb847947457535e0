"""IMAP authentication against a real Dovecot: AUTHENTICATE PLAIN when the
server says LOGINDISABLED (with and without SASL-IR), ID after login, and
AUTHENTICATE OAUTHBEARER against Dovecot's oauth2 passdb backed by a token
introspection endpoint this test runs.

Dovecot never offers PLAIN together with LOGINDISABLED (it hides plaintext
mechanisms on connections it does not trust, and on trusted ones it allows
LOGIN), so CapProxy sits between the gateway and Dovecot and adds
LOGINDISABLED (and optionally drops SASL-IR) in the capability lists it
relays; the PLAIN exchange itself is Dovecot's. RealLoginDisabledTest shows
Dovecot's own LOGINDISABLED (no PLAIN offered) is refused cleanly."""
import base64
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.parse

from fixture import Dovecot, Gateway
from tcpproxy import TcpProxy, shut

USERS = {"alice": "alice-pw-7Qz", "bob": "bob-pw"}
GOOD_TOKEN = "tok-good-3f9a1c"
BAD_TOKEN = "tok-revoked-77e2"

CAP_LINE = re.compile(rb"^(\* CAPABILITY |\* OK \[CAPABILITY |[A-Za-z0-9.]+ OK \[CAPABILITY )")


class CapProxy(TcpProxy):
    """Loopback TCP proxy to upstream_port: adds LOGINDISABLED to every
    capability list the server sends (drops SASL-IR when drop_sasl_ir) and
    records the lines the client sends."""

    def __init__(self, upstream_port, drop_sasl_ir=False):
        self.drop_sasl_ir = drop_sasl_ir
        self.client_lines = []
        super().__init__(upstream_port)

    def _rewrite(self, line):
        if CAP_LINE.match(line):
            line = line.replace(b"IMAP4rev1", b"IMAP4rev1 LOGINDISABLED", 1)
            if self.drop_sasl_ir:
                line = line.replace(b" SASL-IR", b"")
        return line

    def pipe(self, src, dst, from_server):
        rf = src.makefile("rb")
        try:
            for line in rf:
                if from_server:
                    line = self._rewrite(line)
                else:
                    self.client_lines.append(line.rstrip(b"\r\n").decode("utf-8", "replace"))
                dst.sendall(line)
        except OSError:
            pass
        finally:
            shut(src, dst)


class Introspection:
    """RFC 7662-style token introspection (POST token=...) on loopback."""

    def __init__(self, tokens):
        self.tokens = dict(tokens)   # token -> username
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                token = (form.get("token") or [""])[0]
                outer.requests.append(token)
                user = outer.tokens.get(token)
                doc = {"active": True, "username": user} if user else {"active": False}
                body = json.dumps(doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class PlainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dv = Dovecot(users=USERS)
        cls.dv.start()

    @classmethod
    def tearDownClass(cls):
        cls.dv.close()

    def login(self, proxy, user, password):
        gw = Gateway("imap://127.0.0.1:%d" % proxy.port, env={"JMAPGATE_IMAP_TIMEOUT": "10"})
        gw.start()
        try:
            st, _, doc = gw.json("POST", "/api/v1/auth/login",
                                 {"username": user, "password": password})
            return st, doc, gw.log_text()
        finally:
            self.assertEqual(gw.stop(), 0)

    def check_no_secret(self, log, password):
        self.assertNotIn(password, log)
        b64 = base64.b64encode(b"\0alice\0" + password.encode()).decode()
        self.assertNotIn(b64, log)
        self.assertIn("LOGINDISABLED", log)   # the debug log did see the exchange

    def auth_lines(self, proxy):
        return [l for l in proxy.client_lines if re.match(r"^\S+ (AUTHENTICATE|LOGIN) ", l + " ")]

    def test_plain_sasl_ir(self):
        proxy = CapProxy(self.dv.port)
        try:
            st, doc, log = self.login(proxy, "alice", USERS["alice"])
        finally:
            proxy.close()
        self.assertEqual(st, 200, doc)
        lines = self.auth_lines(proxy)
        self.assertTrue(lines and re.match(r"^\S+ AUTHENTICATE PLAIN \S+$", lines[0]), lines)
        self.assertFalse([l for l in lines if " LOGIN " in l + " "], lines)
        # ID names jmapgate and the client's address (issue 17: Dovecot's
        # per-address auth penalty), before the credentials
        ids = [i for i, l in enumerate(proxy.client_lines)
               if re.match(r'^\S+ ID \("name" "jmapgate" "version" "[^"]+" '
                           r'"x-originating-ip" "127\.0\.0\.1" "x-originating-port" "\d+" '
                           r'"x-connected-ip" "127\.0\.0\.1"\)$', l)]
        auth = [i for i, l in enumerate(proxy.client_lines) if " AUTHENTICATE " in l]
        self.assertTrue(ids and auth and ids[0] < auth[0], proxy.client_lines)
        self.check_no_secret(log, USERS["alice"])

    def test_plain_two_step(self):
        proxy = CapProxy(self.dv.port, drop_sasl_ir=True)
        try:
            st, doc, log = self.login(proxy, "alice", USERS["alice"])
        finally:
            proxy.close()
        self.assertEqual(st, 200, doc)
        lines = self.auth_lines(proxy)
        self.assertTrue(lines and re.match(r"^\S+ AUTHENTICATE PLAIN$", lines[0]), lines)
        self.check_no_secret(log, USERS["alice"])

    def test_plain_wrong_password(self):
        proxy = CapProxy(self.dv.port)
        try:
            st, doc, log = self.login(proxy, "alice", "wrong-pw-Xy")
        finally:
            proxy.close()
        self.assertEqual(st, 401, doc)
        self.assertNotIn("wrong-pw-Xy", log)

    def test_id_with_login(self):
        # Without the proxy the gateway uses LOGIN, and still sends ID (before
        # it, in the same write: nothing sent then is logged, so the server's
        # answer shows it).
        gw = Gateway(self.dv.url)
        gw.start()
        try:
            st, _, doc = gw.json("POST", "/api/v1/auth/login",
                                 {"username": "bob", "password": USERS["bob"]})
            self.assertEqual(st, 200, doc)
        finally:
            self.assertEqual(gw.stop(), 0)
        # the debug log escapes the quotes: data="* ID (\"name\" \"Dovecot\")  2 OK"
        self.assertRegex(gw.log_text(), r'\* ID \(\\"name\\" \\"Dovecot\\"\)  \d+ OK ID')


class RealLoginDisabledTest(unittest.TestCase):
    """Dovecot's own LOGINDISABLED: with disable_plaintext_auth = yes it
    treats a connection to 127.0.0.2 (from 127.0.0.1) as insecure, says
    LOGINDISABLED and hides AUTH=PLAIN: the gateway must refuse cleanly
    without sending the password."""

    def test_logindisabled_without_plain(self):
        dv = Dovecot(users=USERS, extra_conf=(
            "disable_plaintext_auth = yes\n"
            "login_trusted_networks =\n"   # trusted networks count as secure
            "service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1, 127.0.0.2\n  }\n}\n"))
        with dv:
            gw = Gateway("imap://127.0.0.2:%d" % dv.port)
            gw.start()
            try:
                st, _, doc = gw.json("POST", "/api/v1/auth/login",
                                     {"username": "alice", "password": USERS["alice"]})
            finally:
                self.assertEqual(gw.stop(), 0)
        self.assertEqual(st, 502, doc)
        self.assertIn("LOGINDISABLED", doc["detail"])
        log = gw.log_text()
        self.assertIn("LOGINDISABLED and no AUTH=PLAIN", log)
        self.assertNotIn(USERS["alice"], log)
        sent = [l for l in log.splitlines() if 'msg="imap C"' in l]
        self.assertTrue(sent)
        self.assertFalse([l for l in sent if "LOGIN " in l or "AUTHENTICATE" in l], sent)


def live_binary():
    gw_bin = os.environ.get("JMAPGATE_BIN") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "jmapgate")
    return os.path.join(os.path.dirname(gw_bin), "tests", "test_ib_oauth_live")


class OAuthBearerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.intro = Introspection({GOOD_TOKEN: "alice"})
        cls.tmp = tempfile.mkdtemp(prefix="jmapgate-oauth2-")
        os.chmod(cls.tmp, 0o755)   # read by Dovecot's auth process (user dovecot when root)
        oauth_conf = os.path.join(cls.tmp, "dovecot-oauth2.conf.ext")
        with open(oauth_conf, "w") as f:
            f.write("introspection_mode = post\n"
                    "introspection_url = http://127.0.0.1:%d/introspect\n"
                    "force_introspection = yes\n"
                    "username_attribute = username\n"
                    "active_attribute = active\n"
                    "active_value = true\n" % cls.intro.port)
        os.chmod(oauth_conf, 0o644)
        cls.dv = Dovecot(users=USERS, extra_conf=(
            "auth_mechanisms = plain login oauthbearer xoauth2\n"
            "passdb {\n  driver = oauth2\n  mechanisms = oauthbearer xoauth2\n"
            "  args = %s\n}\n" % oauth_conf))
        cls.dv.start()

    @classmethod
    def tearDownClass(cls):
        cls.dv.close()
        cls.intro.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_live(self, user, token, expect):
        exe = live_binary()
        if not os.access(exe, os.X_OK):
            self.fail("%s not built" % exe)
        env = dict(os.environ, JMAPGATE_TEST_IMAP_URL=self.dv.url, JMAPGATE_TEST_OAUTH_USER=user,
                   JMAPGATE_TEST_OAUTH_TOKEN=token, JMAPGATE_TEST_OAUTH_EXPECT=expect)
        r = subprocess.run([exe], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = r.stdout.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, out + "\n--- dovecot log\n" + self.dv.log_text()[-3000:])
        self.assertIn("1 passed, 0 failed", out)
        return out

    def test_good_token(self):
        n = len(self.intro.requests)
        self.run_live("alice", GOOD_TOKEN, "ok")
        self.assertIn(GOOD_TOKEN, self.intro.requests[n:])   # Dovecot really asked

    def test_bad_token(self):
        out = self.run_live("alice", BAD_TOKEN, "eauth")
        self.assertIn("invalid_token", out)
        self.assertNotIn(BAD_TOKEN, out)

    def test_token_of_another_user(self):
        out = self.run_live("bob", GOOD_TOKEN, "eauth")
        self.assertNotIn(GOOD_TOKEN, out)

    def test_http_login_with_an_access_token(self):
        # POST /api/v1/auth/login with an OAuth access token: the gateway
        # proves it with AUTHENTICATE at Dovecot and seals it into our
        # token, which a second instance (no warm session, same secret) can
        # use on its own: it authenticates again with the sealed token.
        for mech in (None, "XOAUTH2", "oauthbearer"):   # fresh gateways: no warm session
            proxy = CapProxy(self.dv.plain_port)  # records what the gateways send
            url = "imap://127.0.0.1:%d" % proxy.port
            self.addCleanup(proxy.close)
            with Gateway(url) as a, Gateway(url, secret=a.secret) as b:
                body = {"username": "alice", "accessToken": GOOD_TOKEN}
                if mech:
                    body["mechanism"] = mech
                n = len(self.intro.requests)
                st, _, out = a.json("POST", "/api/v1/auth/login", body)
                self.assertEqual(st, 200, out)
                self.assertIn(GOOD_TOKEN, self.intro.requests[n:])
                n = len(self.intro.requests)
                st, _, out = b.json("GET", "/api/v1/mailboxes",
                                    headers={"Authorization": "Bearer " + out["token"]})
                self.assertEqual(st, 200, out)
                self.assertEqual(out["mailboxes"][0]["name"], "INBOX")
                self.assertIn(GOOD_TOKEN, self.intro.requests[n:])  # b logged in itself
                sent = [l.split()[2] for l in proxy.client_lines if " AUTHENTICATE " in l]
                self.assertEqual(sent, [(mech or "OAUTHBEARER").upper()] * 2)  # a, then b
                payloads = [l.split()[3] for l in proxy.client_lines   # SASL-IR
                            if " AUTHENTICATE " in l and len(l.split()) > 3]
                self.assertEqual(len(payloads), 2)
                self.assertTrue(all(GOOD_TOKEN.encode() in base64.b64decode(x) for x in payloads))
                for gw in (a, b):
                    log = gw.log_text()
                    self.assertNotIn(GOOD_TOKEN, log)
                    for x in payloads:
                        self.assertNotIn(x, log)
        with Gateway(self.dv.url) as a:
            st, _, out = a.json("POST", "/api/v1/auth/login",
                                {"username": "alice", "accessToken": BAD_TOKEN})
            self.assertEqual(st, 401, out)
            self.assertEqual(out["detail"], "the IMAP server refused the access token")
            st, _, out = a.json("POST", "/api/v1/auth/login",
                                {"username": "bob", "accessToken": GOOD_TOKEN})
            self.assertEqual(st, 401, out)
            # the password path still works next to the oauth2 passdb
            st, _, out = a.json("POST", "/api/v1/auth/login",
                                {"username": "bob", "password": USERS["bob"]})
            self.assertEqual(st, 200, out)
            for bad in ({"username": "alice", "accessToken": GOOD_TOKEN, "password": "x"},
                        {"username": "alice", "accessToken": GOOD_TOKEN, "mechanism": "PLAIN"},
                        {"username": "alice", "password": "x", "mechanism": "XOAUTH2"},
                        {"username": "alice", "accessToken": ""},
                        {"username": "alice", "accessToken": "x" * 5000},
                        {"username": "alice", "accessToken": "a\r\nb"},
                        {"username": "alice"}, ["alice"]):
                st, _, out = a.json("POST", "/api/v1/auth/login", bad)
                self.assertEqual(st, 400, (bad if len(str(bad)) < 200 else "long", out))
            log = a.log_text()
            self.assertNotIn(GOOD_TOKEN, log)
            self.assertNotIn(BAD_TOKEN, log)


if __name__ == "__main__":
    unittest.main()
