"""Upload (RFC 8620 §6.1), download of uploaded blobs, Email/import and
Email/parse (RFC 8621 §4.8, §4.9) against a real Dovecot, through two
gateway instances with one secret (a blob uploaded through A is used
through B), plus a third one whose uploads live 3 s. Uploaded blobs are
parked in the hidden IMAP folder "jmapgate-uploads"; the last test checks
with imaplib that nothing is left there."""
import http.client
import json
import os
import random
import socket
import time
import unittest

from fixture import Gateway, StackTestCase, corpus_files, read_corpus_message
from upstream import requires, skip_on

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
PARK = "jmapgate-uploads"
MAX_UPLOAD = 1048576
ENV = {"JMAPGATE_MAX_UPLOAD": str(MAX_UPLOAD), "JMAPGATE_MAX_CONCURRENT_UPLOAD": "2"}

MSG = (b"From: Carol <carol@example.org>\r\nTo: alice@example.org\r\n"
       b"Subject: imported report\r\nDate: Wed, 02 Oct 2024 11:00:00 +0000\r\n"
       b"Message-ID: <import-1@example.org>\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
       b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the numbers.\r\n"
       b"--b1\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n"
       b"Content-Disposition: attachment; filename=\"x.bin\"\r\n"
       b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQ==\r\n--b1--\r\n")
PARSE_PROPS = ["blobId", "size", "messageId", "inReplyTo", "references", "sender", "from", "to",
               "cc", "bcc", "replyTo", "subject", "sentAt", "hasAttachment", "preview",
               "bodyValues", "textBody", "htmlBody", "attachments", "bodyStructure", "headers",
               "header:Subject:asText", "header:X-Mailer"]
IGNORED = ("id", "mailboxIds", "keywords", "receivedAt", "threadId", "blobId")


def crlf(raw):
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def strip_blob_ids(v):
    if isinstance(v, dict):
        return {k: strip_blob_ids(x) for k, x in v.items() if k not in IGNORED}
    if isinstance(v, list):
        return [strip_blob_ids(x) for x in v]
    return v


@requires("UIDPLUS")
class JmapUploadTest(StackTestCase):
    USERS = {"alice": "alice-pw", "bob": "bob-pw"}
    GATEWAY_ENV = ENV

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gw_b = Gateway(cls.dovecot.url, env=ENV, secret=cls.gw.secret).start()
        cls.gw_ttl = Gateway(cls.dovecot.url, env=dict(ENV, JMAPGATE_UPLOAD_TTL="3"),
                             secret=cls.gw.secret).start()
        cls.gw_cap = Gateway(cls.dovecot.url, secret=cls.gw.secret,
                             env=dict(ENV, JMAPGATE_UPLOAD_TTL="3",
                                      JMAPGATE_UPLOAD_ACCOUNT_MAX="64k")).start()
        cls.token = cls.gw.login("alice", "alice-pw")
        cls.auth = {"Authorization": "Bearer " + cls.token}
        cls.bob = {"Authorization": "Bearer " + cls.gw.login("bob", "bob-pw")}
        st, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        cls.session = s
        cls.acct = s["primaryAccounts"][MAIL]
        r = cls.call(cls.gw, ["Mailbox/get", {"accountId": cls.acct}])
        cls.box = {m["name"]: m["id"] for m in r["list"]}

    @classmethod
    def tearDownClass(cls):
        for g in ("gw_b", "gw_ttl", "gw_cap"):
            if getattr(cls, g, None) is not None:
                getattr(cls, g).close()
        super().tearDownClass()

    @classmethod
    def call(cls, gw, *calls, auth=None):
        body = {"using": [CORE, MAIL],
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = gw.json("POST", "/jmap/api", body, headers=auth or cls.auth)
        assert st == 200, out
        res = [r for r in out["methodResponses"]]
        return [r[1] if r[0] != "error" else dict(r[1], _error=True) for r in res] \
            if len(res) > 1 else (res[0][1] if res[0][0] != "error" else dict(res[0][1], _error=True))

    def upload(self, data, gw=None, type_="message/rfc822", auth=None, acct=None):
        gw = gw or self.gw
        h = dict(self.auth if auth is None else auth)
        h["Content-Type"] = type_
        st, hd, body = gw.request("POST", "/jmap/upload/%s" % (acct or self.acct), body=data,
                                  headers=h)
        return st, hd, json.loads(body) if body.strip() else None

    def upload_ok(self, data, **kw):
        st, _, r = self.upload(data, **kw)
        self.assertEqual(st, 201, r)
        return r

    def download(self, blob_id, gw=None, auth=None, name="x", type_="application/octet-stream"):
        return (gw or self.gw).request(
            "GET", "/jmap/download/%s/%s/%s?type=%s" % (self.acct, blob_id, name, type_),
            headers=auth or self.auth)

    def imap_parked(self, user="alice", pw="alice-pw"):
        m = self.dovecot.imap(user, pw)
        try:
            typ, _ = m.select(PARK, readonly=True)
            if typ != "OK":
                return []
            typ, data = m.uid("SEARCH", "ALL")
            return [int(x) for x in data[0].split()]
        finally:
            m.logout()

    def import_(self, blob_id, gw=None, box="INBOX", **extra):
        args = {"blobId": blob_id, "mailboxIds": {self.box[box]: True}}
        args.update(extra)
        return self.call(gw or self.gw, ["Email/import", {"accountId": self.acct,
                                                          "emails": {"k1": args}}])

    # ---- session -----------------------------------------------------------

    def test_session_advertises_upload_limits_and_methods(self):
        core = self.session["capabilities"][CORE]
        self.assertEqual(core["maxSizeUpload"], MAX_UPLOAD)
        self.assertEqual(core["maxConcurrentUpload"], 2)
        self.assertIn("{accountId}", self.session["uploadUrl"])
        for m in ("Email/import", "Email/parse"):
            r = self.call(self.gw, [m, {"accountId": self.acct}])
            self.assertEqual(r.get("type"), "invalidArguments", (m, r))

    # ---- upload / download -------------------------------------------------

    def test_binary_upload_through_a_download_through_b(self):
        data = bytes(range(256)) * 37 + b"\0\r\n\r\x00\xff"
        r = self.upload_ok(data, type_="image/png")
        self.assertEqual(r["accountId"], self.acct)
        self.assertEqual(r["type"], "image/png")
        self.assertEqual(r["size"], len(data))
        st, hd, body = self.download(r["blobId"], gw=self.gw_b, type_="image/png")
        self.assertEqual(st, 200)
        self.assertEqual(body, data)
        self.assertEqual(hd["content-type"], "image/png")
        # an empty upload is a blob too
        r0 = self.upload_ok(b"", type_="text/plain")
        self.assertEqual(r0["size"], 0)
        st, _, body = self.download(r0["blobId"])
        self.assertEqual((st, body), (200, b""))
        # bob cannot read alice's blob, even with his own account in the URL
        st, _, _ = self.gw.request("GET", "/jmap/download/%s/%s/x" % (self.acct, r["blobId"]),
                                   headers=self.bob)
        self.assertEqual(st, 404)

    def _raw_answer(self, s):
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), head.decode("latin-1").lower(), body

    def test_upload_over_max_size_is_413_problem(self):
        # declared too big: answered from the headers, the body is never read
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        s.sendall(("POST /jmap/upload/%s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                   "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                   % (self.acct, self.auth["Authorization"], MAX_UPLOAD + 1)).encode())
        st, head, body = self._raw_answer(s)
        self.assertEqual(st, 413)
        self.assertIn("content-type: application/problem+json", head)
        self.assertEqual(json.loads(body)["status"], 413)
        # chunked, no Content-Length: cut off once it crosses the limit
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        s.sendall(("POST /jmap/upload/%s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                   "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                   % (self.acct, self.auth["Authorization"])).encode())
        try:
            for _ in range(40):
                s.sendall(b"10000\r\n" + b"y" * 65536 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed while we were still sending
        st, head, body = self._raw_answer(s)
        self.assertEqual(st, 413)
        self.assertEqual(json.loads(body)["status"], 413)
        # exactly the limit is fine
        r = self.upload_ok(b"z" * MAX_UPLOAD, type_="application/octet-stream")
        self.assertEqual(r["size"], MAX_UPLOAD)
        st, _, body = self.download(r["blobId"], gw=self.gw_b)
        self.assertEqual(len(body), MAX_UPLOAD)
        # an import of a blob that is not a message is refused; too big is not reachable
        # through upload (maxSizeUpload), so tooLarge applies to message blobs only

    def test_upload_errors(self):
        st, hd, r = self.upload(b"abc", auth={})
        self.assertEqual(st, 401)
        st, hd, r = self.upload(b"abc", acct="aNotMyAccount0000")
        self.assertEqual(st, 404)
        self.assertEqual(r["status"], 404)
        st, hd, r = self.upload(b"abc", type_="text/plain\x7f")
        self.assertEqual(st, 400)
        st, _, _ = self.gw.request("GET", "/jmap/upload/" + self.acct, headers=self.auth)
        self.assertEqual(st, 405)

    def _open_upload(self, total):
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        s.sendall(("POST /jmap/upload/%s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                   "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                   % (self.acct, self.auth["Authorization"], total)).encode() + b"a" * 10)
        return s

    def _finish(self, s, total):
        s.sendall(b"a" * (total - 10))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        return int(data.split(b" ", 2)[1])

    def test_concurrent_uploads_over_the_limit_get_429(self):
        a, b = self._open_upload(1000), self._open_upload(1000)
        try:
            time.sleep(0.3)
            st, hd, r = self.upload(b"third", type_="text/plain")
            self.assertEqual(st, 429, r)
            self.assertEqual(r["status"], 429)
            self.assertIn("retry-after", hd)
            # the other instance counts its own uploads
            r = self.upload_ok(b"other instance", gw=self.gw_b, type_="text/plain")
        finally:
            sa, sb = self._finish(a, 1000), self._finish(b, 1000)
        self.assertEqual((sa, sb), (201, 201))
        self.upload_ok(b"after", type_="text/plain")

    # ---- import ------------------------------------------------------------

    @skip_on(("cyrus",), "Cyrus gives identical bytes one EMAILID: this import's id also names earlier imports of MSG, and Email/get reads one of those (README)")
    def test_upload_through_a_import_through_b_then_get_and_download(self):
        r = self.upload_ok(MSG)
        before = self.imap_parked()
        self.assertTrue(before)
        st0 = self.call(self.gw, ["Email/get", {"accountId": self.acct, "ids": []}])["state"]
        imp = self.import_(r["blobId"], gw=self.gw_b,
                           keywords={"$seen": True, "$flagged": True, "project-x": True},
                           receivedAt="2024-01-02T03:04:05Z")
        self.assertIsNone(imp["notCreated"], imp)
        self.assertEqual(imp["oldState"], st0)
        self.assertNotEqual(imp["newState"], imp["oldState"])
        c = imp["created"]["k1"]
        self.assertEqual(set(c), {"id", "blobId", "threadId", "size"})
        self.assertEqual(c["size"], len(MSG))
        # the parked blob is gone
        self.assertNotIn(before[-1], self.imap_parked())
        st, _, _ = self.download(r["blobId"])
        self.assertEqual(st, 404)
        self.assertEqual(self.import_(r["blobId"])["notCreated"]["k1"]["type"], "blobNotFound")
        g = self.call(self.gw, ["Email/get", {"accountId": self.acct, "ids": [c["id"]],
                                              "properties": ["id", "blobId", "threadId", "size",
                                                             "mailboxIds", "keywords",
                                                             "receivedAt", "subject"]}])
        self.assertEqual(g["notFound"], [])
        e = g["list"][0]
        self.assertEqual(e["blobId"], c["blobId"])
        self.assertEqual(e["threadId"], c["threadId"])
        self.assertEqual(e["size"], c["size"])
        self.assertEqual(e["mailboxIds"], {self.box["INBOX"]: True})
        self.assertEqual(e["keywords"], {"$seen": True, "$flagged": True, "project-x": True})
        self.assertEqual(e["receivedAt"], "2024-01-02T03:04:05Z")
        self.assertEqual(e["subject"], "imported report")
        self.assertEqual(g["state"], imp["newState"])
        q = self.call(self.gw_b, ["Email/query", {"accountId": self.acct,
                                                  "filter": {"inMailbox": self.box["INBOX"]}}])
        self.assertIn(c["id"], q["ids"])
        st, _, body = self.download(c["blobId"], gw=self.gw_b, type_="message/rfc822")
        self.assertEqual(st, 200)
        self.assertEqual(body, MSG)
        # ifInState
        r2 = self.upload_ok(MSG)
        bad = self.call(self.gw, ["Email/import", {"accountId": self.acct,
                                                   "ifInState": imp["oldState"], "emails": {
                                                       "k": {"blobId": r2["blobId"],
                                                             "mailboxIds": {self.box["Archive"]: True}}}}])
        self.assertEqual(bad.get("type"), "stateMismatch", bad)
        ok = self.call(self.gw, ["Email/import", {"accountId": self.acct,
                                                  "ifInState": imp["newState"], "emails": {
                                                      "k": {"blobId": r2["blobId"],
                                                            "mailboxIds": {self.box["Archive"]: True}}}}])
        self.assertIn("k", ok["created"], ok)
        # import of an existing message's blob (no parking involved)
        again = self.import_(c["blobId"], box="Archive")
        self.assertIn("k1", again["created"], again)
        self.assertEqual(again["created"]["k1"]["size"], len(MSG))

    def test_import_of_lf_message_reports_the_stored_size(self):
        """Dovecot stores bare LF as CRLF: created.size is what Email/get says."""
        msg = b"Subject: lf only\nFrom: a@example.org\n\nline1\nline2\r\nline3\n"
        r = self.upload_ok(msg)
        c = self.import_(r["blobId"])["created"]["k1"]
        self.assertEqual(c["size"], len(msg) + 5)
        g = self.call(self.gw, ["Email/get", {"accountId": self.acct, "ids": [c["id"]],
                                              "properties": ["size", "threadId"]}])
        self.assertEqual(g["list"][0]["size"], c["size"])
        self.assertEqual(g["list"][0]["threadId"], c["threadId"])

    def test_import_into_a_mailbox_created_in_the_same_request(self):
        r = self.upload_ok(MSG)
        res = self.call(self.gw, ["Mailbox/set", {"accountId": self.acct,
                                                  "create": {"nb": {"name": "Imported here"}}}],
                        ["Email/import", {"accountId": self.acct, "emails": {
                            "m": {"blobId": r["blobId"], "mailboxIds": {"#nb": True}}}}])
        box = res[0]["created"]["nb"]["id"]
        c = res[1]["created"]["m"]
        g = self.call(self.gw, ["Email/get", {"accountId": self.acct, "ids": [c["id"]],
                                              "properties": ["mailboxIds"]}])
        self.assertEqual(g["list"][0]["mailboxIds"], {box: True})

    def test_invalid_imports(self):
        r = self.upload_ok(MSG)
        junk = self.upload_ok(b"\x89PNG\r\n\x1a\n\0\0binary", type_="image/png")
        forged = r["blobId"][:-2] + ("A" if r["blobId"][-2] != "A" else "B") + r["blobId"][-1]
        cases = {
            "unknown": ({"blobId": "nope", "mailboxIds": {self.box["INBOX"]: True}},
                        "blobNotFound"),
            "forged": ({"blobId": forged, "mailboxIds": {self.box["INBOX"]: True}},
                       "blobNotFound"),
            "notmsg": ({"blobId": junk["blobId"], "mailboxIds": {self.box["INBOX"]: True}},
                       "invalidEmail"),
            "two": ({"blobId": r["blobId"], "mailboxIds": {self.box["INBOX"]: True,
                                                           self.box["Archive"]: True}},
                    "invalidProperties"),
            "nobox": ({"blobId": r["blobId"], "mailboxIds": {}}, "invalidProperties"),
            "badbox": ({"blobId": r["blobId"], "mailboxIds": {"mNoSuchBox": True}},
                       "invalidProperties"),
            "badkw": ({"blobId": r["blobId"], "mailboxIds": {self.box["INBOX"]: True},
                       "keywords": {"bad keyword(": True}}, "invalidProperties"),
            "baddate": ({"blobId": r["blobId"], "mailboxIds": {self.box["INBOX"]: True},
                         "receivedAt": "yesterday"}, "invalidProperties"),
        }
        res = self.call(self.gw, ["Email/import", {"accountId": self.acct,
                                                   "emails": {k: v[0] for k, v in cases.items()}}])
        self.assertIsNone(res["created"], res)
        for k, (_, want) in cases.items():
            self.assertEqual(res["notCreated"][k]["type"], want, (k, res["notCreated"][k]))
        self.assertEqual(res["notCreated"]["two"]["properties"], ["mailboxIds"])
        self.assertEqual(res["notCreated"]["unknown"]["notFound"], ["nope"])
        self.assertEqual(res["oldState"], res["newState"])
        bad = self.call(self.gw, ["Email/import", {"accountId": self.acct, "emails": []}])
        self.assertEqual(bad["type"], "invalidArguments")
        bad = self.call(self.gw, ["Email/import", {"accountId": "aOther", "emails": {}}])
        self.assertEqual(bad["type"], "accountNotFound")
        # bob cannot import alice's blob
        bobacct, inbox = self.bob_account()
        br = self.call(self.gw, ["Email/import", {"accountId": bobacct, "emails": {
            "x": {"blobId": r["blobId"], "mailboxIds": {inbox: True}}}}], auth=self.bob)
        self.assertEqual(br["notCreated"]["x"]["type"], "blobNotFound", br)
        # the valid blob is still usable after all that
        ok = self.import_(r["blobId"])
        self.assertIn("k1", ok["created"], ok)

    # ---- parse -------------------------------------------------------------

    def test_parse_errors(self):
        junk = self.upload_ok(b"\0not a message", type_="application/octet-stream")
        r = self.call(self.gw, ["Email/parse", {"accountId": self.acct,
                                                "blobIds": [junk["blobId"], "nope"]}])
        self.assertIsNone(r["parsed"])
        self.assertEqual(r["notParsable"], [junk["blobId"]])
        self.assertEqual(r["notFound"], ["nope"])
        bad = self.call(self.gw, ["Email/parse", {"accountId": self.acct, "blobIds": "x"}])
        self.assertEqual(bad["type"], "invalidArguments")
        bad = self.call(self.gw, ["Email/parse", {"accountId": self.acct, "blobIds": [],
                                                  "properties": ["nosuch"]}])
        self.assertEqual(bad["type"], "invalidArguments")

    def test_parse_defaults_and_existing_message(self):
        r = self.upload_ok(MSG)
        p = self.call(self.gw_b, ["Email/parse", {"accountId": self.acct,
                                                  "blobIds": [r["blobId"]]}])
        e = p["parsed"][r["blobId"]]
        self.assertEqual(e["subject"], "imported report")
        self.assertIsNone(e.get("id"))  # not a default property of Email/parse; null anyway
        self.assertTrue(e["hasAttachment"])
        self.assertEqual(e["textBody"][0]["type"], "text/plain")
        # parse does not store: the parked blob is still the only thing there
        p = self.call(self.gw, ["Email/parse", {"accountId": self.acct, "blobIds": [r["blobId"]],
                                                "properties": ["id", "blobId", "threadId",
                                                               "mailboxIds", "keywords",
                                                               "receivedAt", "size"]}])
        e = p["parsed"][r["blobId"]]
        self.assertEqual(e, {"id": None, "blobId": r["blobId"], "threadId": None,
                             "mailboxIds": None, "keywords": None, "receivedAt": None,
                             "size": len(MSG)})
        imp = self.import_(r["blobId"])["created"]["k1"]
        p = self.call(self.gw, ["Email/parse", {"accountId": self.acct, "blobIds": [imp["blobId"]],
                                                "properties": ["subject", "attachments"]}])
        e = p["parsed"][imp["blobId"]]
        self.assertEqual(e["subject"], "imported report")
        # a message in a mailbox is read in place: its parts' blobIds are real
        st, _, body = self.download(e["attachments"][0]["blobId"])
        self.assertEqual((st, body), (200, bytes(range(10))))

    def test_parse_100_corpus_messages_equals_get_after_import(self):
        files = corpus_files()[:100]
        raws = [crlf(read_corpus_message(f)) for f in files]
        blobs = [self.upload_ok(raw, gw=(self.gw if i % 2 else self.gw_b))["blobId"]
                 for i, raw in enumerate(raws)]
        opts = {"properties": PARSE_PROPS, "fetchAllBodyValues": True, "maxBodyValueBytes": 4096,
                "bodyProperties": ["partId", "blobId", "size", "name", "type", "charset",
                                   "disposition", "cid", "language", "location", "subParts",
                                   "headers", "header:Content-Type"]}
        parsed = self.call(self.gw, ["Email/parse", dict(opts, accountId=self.acct,
                                                          blobIds=blobs)])
        self.assertIsNone(parsed["notParsable"])
        self.assertIsNone(parsed["notFound"])
        self.assertEqual(len(parsed["parsed"]), 100)
        imp = self.call(self.gw_b, ["Email/import", {"accountId": self.acct, "emails": {
            "c%d" % i: {"blobId": b, "mailboxIds": {self.box["Archive"]: True}}
            for i, b in enumerate(blobs)}}])
        self.assertIsNone(imp["notCreated"], imp["notCreated"])
        ids = [imp["created"]["c%d" % i]["id"] for i in range(100)]
        got = self.call(self.gw, ["Email/get", dict(opts, accountId=self.acct, ids=ids)])
        self.assertEqual(got["notFound"], [])
        by_id = {e["id"]: e for e in got["list"]}
        for i, b in enumerate(blobs):
            p, g = parsed["parsed"][b], by_id[ids[i]]
            self.assertEqual(strip_blob_ids(p), strip_blob_ids(g), files[i])
            self.assertEqual(g["size"], imp["created"]["c%d" % i]["size"])
            self.assertEqual(g["size"], len(raws[i]))

    # ---- hidden folder, lifetime ------------------------------------------

    def test_parking_folder_is_hidden(self):
        self.upload_ok(b"keep me a moment", type_="text/plain")
        self.assertTrue(self.imap_parked())
        r = self.call(self.gw, ["Mailbox/get", {"accountId": self.acct}],
                      ["Mailbox/query", {"accountId": self.acct}])
        names = [m["name"] for m in r[0]["list"]]
        self.assertNotIn(PARK, names)
        self.assertEqual(len(r[1]["ids"]), len(names))
        st, _, rest = self.gw.json("GET", "/api/v1/mailboxes", headers=self.auth)
        self.assertNotIn(PARK, [m.get("name") for m in rest["mailboxes"]])
        self.assertNotIn(PARK, json.dumps(rest))
        for path in ("/api/v1/mailboxes/%s/messages" % PARK,
                     "/api/v1/mailboxes/%s/messages/1/raw" % PARK,
                     "/api/v1/mailboxes/%s/messages/1" % PARK):
            st, _, _ = self.gw.request("GET", path, headers=self.auth)
            self.assertEqual(st, 404, path)
        # uploads change neither the Mailbox nor the Email state
        s1 = self.call(self.gw, ["Mailbox/get", {"accountId": self.acct, "ids": []}],
                       ["Email/get", {"accountId": self.acct, "ids": []}])
        self.upload_ok(b"another", type_="text/plain")
        s2 = self.call(self.gw, ["Mailbox/get", {"accountId": self.acct, "ids": []}],
                       ["Email/get", {"accountId": self.acct, "ids": []}])
        self.assertEqual([x["state"] for x in s1], [x["state"] for x in s2])
        ch = self.call(self.gw, ["Mailbox/changes", {"accountId": self.acct,
                                                     "sinceState": s1[0]["state"]}])
        self.assertEqual(ch["created"], [])
        m = self.dovecot.imap("alice", "alice-pw")
        try:
            typ, subs = m.lsub()
            self.assertNotIn(PARK, b"".join(x for x in subs if x).decode())
        finally:
            m.logout()

    def test_uploads_are_not_pushed_imports_are(self):
        es = self.gw.sse("/jmap/eventsource?types=*&closeafter=no&ping=0", headers=self.auth)
        self.addCleanup(es.close)
        self.assertEqual(es.status, 200)
        es.events(count=5, timeout=1.5)  # whatever the stream opens with
        r = self.upload_ok(MSG)
        self.upload_ok(b"and another", type_="text/plain")
        quiet = [e for e in es.events(count=1, timeout=2.0) if e.get("event") == "state"]
        self.assertEqual(quiet, [])
        self.assertIn("k1", self.import_(r["blobId"])["created"])
        got = [e for e in es.events(count=1, timeout=8.0) if e.get("event") == "state"]
        self.assertTrue(got, "no state event after an import into INBOX")
        self.assertIn("Email", json.loads(got[0]["data"])["changed"][self.acct])

    def test_unused_blob_disappears_after_its_lifetime(self):
        r = self.upload_ok(b"short-lived", gw=self.gw_ttl, type_="text/plain")
        st, _, body = self.download(r["blobId"], gw=self.gw_ttl)
        self.assertEqual((st, body), (200, b"short-lived"))
        uid = self.imap_parked()[-1]
        time.sleep(3.5)
        # refused on access before any sweep
        self.assertIn(uid, self.imap_parked())
        st, _, _ = self.download(r["blobId"], gw=self.gw_ttl)
        self.assertEqual(st, 404)
        imp = self.import_(r["blobId"], gw=self.gw_ttl)
        self.assertEqual(imp["notCreated"]["k1"]["type"], "blobNotFound")
        # the next upload of the account sweeps it from IMAP
        self.upload_ok(b"next", gw=self.gw_ttl, type_="text/plain")
        self.assertNotIn(uid, self.imap_parked())

    def bob_account(self):
        st, _, s = self.gw.json("GET", "/.well-known/jmap", headers=self.bob)
        acct = s["primaryAccounts"][MAIL]
        boxes = self.call(self.gw, ["Mailbox/get", {"accountId": acct}], auth=self.bob)
        return acct, [m["id"] for m in boxes["list"] if m["name"] == "INBOX"][0]

    def test_account_cap_on_parked_bytes(self):
        acct, _ = self.bob_account()
        r = self.upload_ok(b"q" * 30000, gw=self.gw_cap, auth=self.bob, acct=acct,
                           type_="application/octet-stream")
        st, hd, p = self.upload(b"q" * 30000, gw=self.gw_cap, auth=self.bob, acct=acct,
                                type_="application/octet-stream")
        self.assertEqual(st, 413, p)
        self.assertIn("upload_account_max", p["detail"])
        # small ones still fit beside the first
        self.upload_ok(b"small", gw=self.gw_cap, auth=self.bob, acct=acct, type_="text/plain")
        self.assertEqual(r["size"], 30000)

    def test_import_too_large_and_reserved_name(self):
        big = (b"Subject: huge zqxbig\r\nFrom: a@example.org\r\n\r\n" +
               (b"0123456789" * 7 + b"\r\n") * 16000)
        self.assertGreater(len(big), MAX_UPLOAD)
        self.dovecot.append("alice", "alice-pw", "INBOX", big)
        q = self.call(self.gw, ["Email/query", {"accountId": self.acct,
                                                "filter": {"subject": "zqxbig"}}],
                      ["Email/get", {"accountId": self.acct, "#ids": {
                          "resultOf": "0", "name": "Email/query", "path": "/ids"},
                          "properties": ["blobId"]}])
        blob = q[1]["list"][0]["blobId"]
        imp = self.import_(blob, box="Archive")
        self.assertEqual(imp["notCreated"]["k1"]["type"], "tooLarge", imp)
        r = self.call(self.gw, ["Mailbox/set", {"accountId": self.acct, "create": {
            "p": {"name": PARK}}}])
        self.assertEqual(r["notCreated"]["p"]["type"], "invalidProperties", r)

    def test_zz_nothing_left_in_the_parking_folder(self):
        """Runs last: uploads the tests left unused expire (3 s through
        gw_ttl and gw_cap); one more upload, imported at once, sweeps them."""
        time.sleep(3.5)
        r = self.upload_ok(MSG, gw=self.gw_ttl)
        imp = self.import_(r["blobId"], gw=self.gw_ttl)
        self.assertIn("k1", imp["created"], imp)
        self.assertEqual(self.imap_parked(), [])
        acct, inbox = self.bob_account()
        r = self.upload_ok(MSG, gw=self.gw_cap, auth=self.bob, acct=acct)
        imp = self.call(self.gw_cap, ["Email/import", {"accountId": acct, "emails": {
            "x": {"blobId": r["blobId"], "mailboxIds": {inbox: True}}}}], auth=self.bob)
        self.assertIn("x", imp["created"], imp)
        self.assertEqual(self.imap_parked("bob", "bob-pw"), [])


if __name__ == "__main__":
    unittest.main()
