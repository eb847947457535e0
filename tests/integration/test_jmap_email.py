"""Email/query and Email/get against a real Dovecot seeded with the real
corpus plus crafted edge cases; every answer is checked against an
independent reading of the same mail (imaplib + Python's email package)."""
import email
import email.policy
import imaplib
import json
import time
import unittest

from fixture import StackTestCase
from upstream import requires, skip_on

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"

ENCODED = (b"From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.org>\r\n"
           b"To: Team <team@example.org>, bob@example.org\r\n"
           b"Subject: =?UTF-8?B?w6l0w6kgZW4gZnJhbsOnYWlz?= report\r\n"
           b"Date: Tue, 01 Oct 2024 10:00:00 +0200\r\n"
           b"Message-ID: <encoded-1@example.org>\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"Caf=E9 cr=E8me, l'=E9t=E9 est l=E0.\r\n")
ATTACH = (b"From: Carol <carol@example.org>\r\nTo: alice@example.org\r\n"
          b"Subject: quarterly numbers zqx\r\nDate: Wed, 02 Oct 2024 11:00:00 +0000\r\n"
          b"Message-ID: <attach-1@example.org>\r\nMIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
          b"--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
          b"--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the numbers.\r\n"
          b"--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
          b"<p>See the <b>numbers</b>.</p>\r\n--b2--\r\n"
          b"--b1\r\nContent-Type: text/csv; name=\"q3.csv\"\r\n"
          b"Content-Disposition: attachment; filename=\"q3.csv\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n\r\nYSxiCjEsMgo=\r\n--b1--\r\n")
REPLY = (b"From: Bob <bob@example.org>\r\nTo: carol@example.org\r\n"
         b"Subject: Re: quarterly numbers zqx\r\nDate: Thu, 03 Oct 2024 09:00:00 +0000\r\n"
         b"Message-ID: <reply-1@example.org>\r\nIn-Reply-To: <attach-1@example.org>\r\n"
         b"References: <attach-1@example.org>\r\n\r\nThanks!\r\n")


class JmapEmailTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dovecot.seed_corpus("alice", {"INBOX": 40, "Archive": 10}, flagged_every=4,
                                seen_every=2)
        cls.uid_enc = cls.dovecot.append("alice", "alice-pw", "INBOX", ENCODED)
        cls.uid_att = cls.dovecot.append("alice", "alice-pw", "INBOX", ATTACH, flags="\\Flagged")
        cls.uid_rep = cls.dovecot.append("alice", "alice-pw", "Archive", REPLY, flags="\\Seen")
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw"),
                    "Content-Type": "application/json"}
        st, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        cls.acct = s["primaryAccounts"][MAIL]
        r = cls.call(["Mailbox/get", {"accountId": cls.acct}])
        cls.box = {m["name"]: m["id"] for m in r["list"]}

    @classmethod
    def call(cls, *calls):
        body = {"using": [CORE, MAIL],
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = cls.gw.json("POST", "/jmap/api", body, headers=cls.auth)
        assert st == 200, out
        res = [r[1] for r in out["methodResponses"]]
        return res[0] if len(res) == 1 else res

    def imap(self):
        m = self.dovecot.imap("alice", "alice-pw")
        self.addCleanup(m.logout)
        return m

    def uids(self, m, folder, *criteria):
        m.select(folder, readonly=True)
        typ, data = m.uid("SEARCH", *criteria)
        return set(int(x) for x in data[0].split())

    def test_query_inbox_newest_first_with_window(self):
        r = self.call(["Email/query", {"accountId": self.acct,
                                       "filter": {"inMailbox": self.box["INBOX"]},
                                       "calculateTotal": True, "limit": 10}])
        self.assertEqual(r["total"], 42)
        self.assertEqual(len(r["ids"]), 10)
        self.assertEqual(r["position"], 0)
        got = self.call(["Email/get", {"accountId": self.acct, "ids": r["ids"],
                                       "properties": ["receivedAt", "mailboxIds"]}])
        dates = [e["receivedAt"] for e in got["list"]]
        self.assertEqual(dates, sorted(dates, reverse=True))
        for e in got["list"]:
            self.assertEqual(e["mailboxIds"], {self.box["INBOX"]: True})
        page2 = self.call(["Email/query", {"accountId": self.acct,
                                           "filter": {"inMailbox": self.box["INBOX"]},
                                           "position": 10, "limit": 10}])
        self.assertFalse(set(page2["ids"]) & set(r["ids"]))
        anchored = self.call(["Email/query", {"accountId": self.acct,
                                              "filter": {"inMailbox": self.box["INBOX"]},
                                              "anchor": r["ids"][9], "anchorOffset": 1,
                                              "limit": 10}])
        self.assertEqual(anchored["ids"], page2["ids"])

    @requires("SORT")
    def test_single_folder_uses_server_sort(self):
        before = len(self.gw.log_text())
        for prop, asc in (("size", True), ("receivedAt", False), ("subject", True)):
            r = self.call(["Email/query", {"accountId": self.acct,
                                           "filter": {"inMailbox": self.box["INBOX"]},
                                           "sort": [{"property": prop, "isAscending": asc}]}])
            self.assertEqual(len(r["ids"]), 42)
            if prop != "subject":
                g = self.call(["Email/get", {"accountId": self.acct, "ids": r["ids"],
                                             "properties": [prop]}])
                vals = [e[prop] for e in g["list"]]
                self.assertEqual(vals, sorted(vals, reverse=not asc), prop)
        sent = [l for l in self.gw.log_text()[before:].splitlines() if 'msg="imap C"' in l]
        self.assertEqual(len([l for l in sent if "UID SORT" in l]), 3)

    def test_filters_match_imap_ground_truth(self):
        m = self.imap()
        cases = [
            ({"hasKeyword": "$seen"}, ("SEEN",)),
            ({"notKeyword": "$flagged"}, ("UNFLAGGED",)),
            ({"from": "carol"}, ("FROM", "carol")),
            ({"subject": "zqx"}, ("SUBJECT", "zqx")),
            ({"operator": "NOT", "conditions": [{"hasKeyword": "$seen"}]}, ("UNSEEN",)),
            ({"minSize": 3000}, ("LARGER", "2999")),
        ]
        for flt, crit in cases:
            want = len(self.uids(m, "INBOX", *crit))
            r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                           "filter": {"operator": "AND", "conditions": [
                                               {"inMailbox": self.box["INBOX"]}, flt]}}])
            self.assertEqual(r["total"], want, (flt, crit))

    @skip_on(("cyrus",), "Cyrus SEARCH folds accents (crème also matches creme, crême), Dovecot only case (README)")
    def test_non_ascii_and_all_folders(self):
        r = self.call(["Email/query", {"accountId": self.acct, "filter": {"body": "crème"},
                                       "calculateTotal": True}])
        self.assertEqual(r["total"], 1)
        r = self.call(["Email/query", {"accountId": self.acct, "filter": {"subject": "zqx"},
                                       "calculateTotal": True}])
        self.assertEqual(r["total"], 2)  # INBOX and Archive together
        r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                       "filter": {"inMailboxOtherThan": [self.box["INBOX"]]}}])
        self.assertEqual(r["total"], 11)

    def test_has_attachment_and_dates(self):
        r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                       "filter": {"operator": "AND", "conditions": [
                                           {"hasAttachment": True}, {"subject": "zqx"}]}}])
        self.assertEqual(r["total"], 1)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120))
        r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                       "filter": {"after": now}}])
        self.assertEqual(r["total"], 0)
        r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                       "filter": {"before": now}}])
        self.assertEqual(r["total"], 53)

    def test_thread_keyword_filters(self):
        def total(cond):
            r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                           "filter": {"operator": "AND", "conditions": [
                                               {"subject": "zqx"}, cond]}}])
            return r["total"]
        # the zqx thread: the original is $flagged (INBOX), the reply $seen (Archive)
        self.assertEqual(total({"someInThreadHaveKeyword": "$seen"}), 2)
        self.assertEqual(total({"someInThreadHaveKeyword": "$answered"}), 0)
        self.assertEqual(total({"allInThreadHaveKeyword": "$seen"}), 0)
        self.assertEqual(total({"noneInThreadHaveKeyword": "$flagged"}), 0)
        self.assertEqual(total({"noneInThreadHaveKeyword": "$draft"}), 2)
        r = self.call(["Email/query", {"accountId": self.acct, "calculateTotal": True,
                                       "filter": {"operator": "AND", "conditions": [
                                           {"subject": "français"},
                                           {"allInThreadHaveKeyword": "$seen"}]}}])
        self.assertEqual(r["total"], 0)  # a thread of one unread message

    def test_query_errors(self):
        r = self.call(["Email/query", {"accountId": self.acct,
                                       "filter": {"someInThreadHaveKeyword": 7}}])
        self.assertEqual(r["type"], "invalidArguments")
        r = self.call(["Email/query", {"accountId": self.acct, "filter": {"color": "red"}}])
        self.assertIn(r["type"], ("unsupportedFilter", "invalidArguments"))
        r = self.call(["Email/query", {"accountId": self.acct, "filter": {"hasKeyword": 5}}])
        self.assertEqual(r["type"], "invalidArguments")
        r = self.call(["Email/query", {"accountId": self.acct, "sort": [{"property": "id"}]}])
        self.assertEqual(r["type"], "unsupportedSort")
        r = self.call(["Email/query", {"accountId": self.acct, "anchor": "nope"}])
        self.assertEqual(r["type"], "anchorNotFound")

    def email_by_subject(self, word, props=None, **extra):
        q = ["Email/query", {"accountId": self.acct, "filter": {"subject": word}}]
        args = {"accountId": self.acct,
                "#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"}}
        if props is not None:
            args["properties"] = props
        args.update(extra)
        _, got = self.call(q, ["Email/get", args])
        return got

    def test_get_decodes_headers_and_bodies(self):
        got = self.email_by_subject("français", fetchTextBodyValues=True)
        self.assertEqual(len(got["list"]), 1, got)
        e = got["list"][0]
        self.assertEqual(e["subject"], "été en français report")
        self.assertEqual(e["from"], [{"name": "André Pirard", "email": "pirard@example.org"}])
        self.assertEqual([a["email"] for a in e["to"]], ["team@example.org", "bob@example.org"])
        self.assertEqual(e["messageId"], ["encoded-1@example.org"])
        self.assertEqual(e["sentAt"], "2024-10-01T10:00:00+02:00")
        part = e["textBody"][0]["partId"]
        self.assertEqual(e["bodyValues"][part]["value"].strip(), "Café crème, l'été est là.")
        self.assertFalse(e["bodyValues"][part]["isEncodingProblem"])
        self.assertEqual(e["size"], len(ENCODED))
        self.assertFalse(e["hasAttachment"])
        self.assertTrue(e["preview"].startswith("Café crème"))

    def test_get_multipart_attachment_and_thread(self):
        got = self.email_by_subject("zqx", fetchHTMLBodyValues=True)
        by_subject = {e["subject"]: e for e in got["list"]}
        orig = by_subject["quarterly numbers zqx"]
        reply = by_subject["Re: quarterly numbers zqx"]
        self.assertTrue(orig["hasAttachment"])
        self.assertEqual([a["name"] for a in orig["attachments"]], ["q3.csv"])
        self.assertEqual(orig["attachments"][0]["type"], "text/csv")
        self.assertEqual(orig["htmlBody"][0]["type"], "text/html")
        html = orig["bodyValues"][orig["htmlBody"][0]["partId"]]["value"]
        self.assertIn("<b>numbers</b>", html)
        self.assertEqual(orig["keywords"], {"$flagged": True})
        self.assertEqual(reply["keywords"], {"$seen": True})
        self.assertEqual(orig["threadId"], reply["threadId"])
        self.assertEqual(reply["inReplyTo"], ["attach-1@example.org"])
        self.assertEqual(reply["mailboxIds"], {self.box["Archive"]: True})

    @requires("PREVIEW")
    def test_list_view_never_fetches_bodies(self):
        r = self.call(["Email/query", {"accountId": self.acct, "limit": 20}])
        mark = "list-view-%d" % time.time()
        self.call(["Core/echo", {"mark": mark}])
        before = len(self.gw.log_text())
        got = self.call(["Email/get", {"accountId": self.acct, "ids": r["ids"],
                                       "properties": ["subject", "from", "receivedAt",
                                                      "keywords", "size", "preview"]}])
        self.assertEqual(len(got["list"]), 20)
        sent = [line for line in self.gw.log_text()[before:].splitlines()
                if 'msg="imap C"' in line]
        fetches = [line for line in sent if "FETCH" in line]
        self.assertTrue(fetches)
        for line in fetches:
            self.assertNotIn("BODY.PEEK[]", line)
            self.assertNotIn("BODY.PEEK[1", line)
            self.assertNotIn("RFC822 ", line)

    def test_thread_get(self):
        got = self.email_by_subject("zqx", ["threadId", "subject"])
        tid = got["list"][0]["threadId"]
        ids = sorted(e["id"] for e in got["list"])
        r = self.call(["Thread/get", {"accountId": self.acct, "ids": [tid, "tnope", "x"]}])
        self.assertEqual(len(r["list"]), 1)
        self.assertEqual(r["list"][0]["id"], tid)
        self.assertEqual(sorted(r["list"][0]["emailIds"]), ids)
        self.assertEqual(sorted(r["notFound"]), ["tnope", "x"])
        # a corpus thread: every member's threadId is the thread's id
        q = self.call(["Email/query", {"accountId": self.acct, "limit": 30}])
        g = self.call(["Email/get", {"accountId": self.acct, "ids": q["ids"],
                                     "properties": ["threadId"]}])
        threads = {e["threadId"] for e in g["list"]}
        t = self.call(["Thread/get", {"accountId": self.acct, "ids": sorted(threads)}])
        self.assertEqual(t["notFound"], [])
        for th in t["list"]:
            mg = self.call(["Email/get", {"accountId": self.acct, "ids": th["emailIds"],
                                          "properties": ["threadId"]}])
            self.assertEqual({e["threadId"] for e in mg["list"]}, {th["id"]})

    def test_blob_download(self):
        got = self.email_by_subject("zqx", ["blobId", "attachments", "subject"])
        orig = [e for e in got["list"] if e["subject"] == "quarterly numbers zqx"][0]
        att = orig["attachments"][0]
        url = "/jmap/download/%s/%s/%s?type=text/csv" % (self.acct, att["blobId"], "q3 résumé.csv")
        st, hd, body = self.gw.request("GET", url.replace(" ", "%20").replace("é", "%C3%A9"),
                                       headers=self.auth)
        self.assertEqual(st, 200, body)
        self.assertEqual(body, b"a,b\n1,2\n")
        self.assertEqual(hd["content-type"], "text/csv")
        self.assertIn("filename*=UTF-8''q3%20r%C3%A9sum%C3%A9.csv", hd["content-disposition"])
        st, hd, body = self.gw.request("GET", "/jmap/download/%s/%s/m.eml?type=message/rfc822"
                                       % (self.acct, orig["blobId"]), headers=self.auth)
        self.assertEqual(st, 200)
        self.assertEqual(body, ATTACH)
        bad = orig["blobId"][:-2] + ("AA" if orig["blobId"][-2:] != "AA" else "BB")
        for path, want in (("/jmap/download/%s/%s/x" % (self.acct, bad), 404),
                           ("/jmap/download/%s/%s/x" % ("aOther", orig["blobId"]), 404)):
            self.assertEqual(self.gw.request("GET", path, headers=self.auth)[0], want)
        self.assertEqual(self.gw.request("GET", "/jmap/download/%s/%s/x" % (
            self.acct, orig["blobId"]))[0], 401)
        st, hd, _ = self.gw.request("GET", "/jmap/download/%s/%s/x?type=%s" % (
            self.acct, orig["blobId"], "text/html%0d%0aX-Evil:%201"), headers=self.auth)
        self.assertEqual(st, 200)
        self.assertEqual(hd["content-type"], "application/octet-stream")
        self.assertNotIn("x-evil", hd)

    @skip_on(("cyrus",), "Cyrus SEARCH folds accents (crème also matches creme, crême), Dovecot only case (README)")
    def test_search_snippets(self):
        flt = {"operator": "OR", "conditions": [{"subject": "zqx"}, {"body": "crème"}]}
        _, _, out = self.gw.json("POST", "/jmap/api", {"using": [CORE, MAIL], "methodCalls": [
            ["Email/query", {"accountId": self.acct, "filter": flt}, "q"],
            ["SearchSnippet/get", {"accountId": self.acct, "filter": flt,
                                   "#emailIds": {"resultOf": "q", "name": "Email/query",
                                                 "path": "/ids"}}, "s"],
            ["SearchSnippet/get", {"accountId": self.acct, "filter": {"text": "<b>"},
                                   "emailIds": ["nope"]}, "t"]]}, headers=self.auth)
        snips = out["methodResponses"][1][1]["list"]
        self.assertEqual(len(snips), 3)
        subjects = sorted(s["subject"] for s in snips if s["subject"])
        self.assertEqual(subjects, ["Re: quarterly numbers <mark>zqx</mark>",
                                    "quarterly numbers <mark>zqx</mark>"])
        cafe = [s for s in snips if s["subject"] is None][0]
        self.assertIn("<mark>crème</mark>", cafe["preview"])
        self.assertEqual(out["methodResponses"][2][1]["notFound"], ["nope"])

    def test_get_properties_and_errors(self):
        got = self.email_by_subject("français", ["subject", "header:Subject:asText",
                                               "header:X-Missing", "header:Received:all"])
        e = got["list"][0]
        self.assertEqual(set(e), {"id", "subject", "header:Subject:asText", "header:X-Missing",
                                  "header:Received:all"})
        self.assertEqual(e["header:Subject:asText"], e["subject"])
        self.assertIsNone(e["header:X-Missing"])
        self.assertIsInstance(e["header:Received:all"], list)
        bad = self.email_by_subject("français", ["header:From:asDate"])
        self.assertEqual(bad["type"], "invalidArguments")
        bad = self.email_by_subject("français", ["nonsense"])
        self.assertEqual(bad["type"], "invalidArguments")
        got = self.call(["Email/get", {"accountId": self.acct,
                                       "ids": ["nope", "eAAAAAAAAAAAAAAAAAAB"]}])
        self.assertEqual(got["list"], [])
        self.assertEqual(sorted(got["notFound"]), sorted(["nope", "eAAAAAAAAAAAAAAAAAAB"]))

    def test_corpus_matches_python_email_parser(self):
        r = self.call(["Email/query", {"accountId": self.acct,
                                       "filter": {"inMailbox": self.box["Archive"]}}])
        got = self.call(["Email/get", {"accountId": self.acct, "ids": r["ids"],
                                       "properties": ["subject", "messageId", "size",
                                                      "receivedAt"]}])
        m = self.imap()
        m.select("Archive", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        truth = {}
        for item in data:
            if isinstance(item, tuple):
                msg = email.message_from_bytes(item[1], policy=email.policy.default)
                mid = (msg["Message-ID"] or "").strip().strip("<>")
                truth[mid] = (str(msg["Subject"] or ""), len(item[1]))
        self.assertEqual(len(got["list"]), len(truth))
        for e in got["list"]:
            mid = e["messageId"][0] if e["messageId"] else ""
            subject, size = truth[mid]
            self.assertEqual(e["size"], size)
            self.assertEqual(" ".join(e["subject"].split()), " ".join(subject.split()), mid)


if __name__ == "__main__":
    unittest.main()


class AllMailTest(StackTestCase):
    """A Gmail-like server (every message also in a \\All folder): a query
    naming no mailbox searches All Mail only, so nothing is counted twice."""
    USERS = {"gm": "gm-pw"}
    DOVECOT_KW = {"extra_conf": 'namespace inbox {\n  mailbox "All Mail" {\n'
                                '    special_use = \\All\n    auto = create\n  }\n}\n'}

    def test_query_without_mailbox_uses_all_mail(self):
        for n in range(3):
            raw = f"Subject: m{n}\r\nMessage-ID: <gm{n}@x>\r\n\r\nx\r\n".encode()
            self.dovecot.append("gm", "gm-pw", "INBOX", raw)
            self.dovecot.append("gm", "gm-pw", "All Mail", raw)
        auth = {"Authorization": "Bearer " + self.gw.login("gm", "gm-pw")}
        _, _, s = self.gw.json("GET", "/.well-known/jmap", headers=auth)
        acct = s["primaryAccounts"][MAIL]

        def total(flt):
            _, _, out = self.gw.json("POST", "/jmap/api", {"using": [CORE, MAIL], "methodCalls": [
                ["Email/query", {"accountId": acct, "filter": flt, "calculateTotal": True},
                 "0"]]}, headers=auth)
            return out["methodResponses"][0][1]["total"]

        _, _, out = self.gw.json("POST", "/jmap/api", {"using": [CORE, MAIL], "methodCalls": [
            ["Mailbox/query", {"accountId": acct, "filter": {"role": "inbox"}}, "0"]]},
            headers=auth)
        inbox = out["methodResponses"][0][1]["ids"][0]
        self.assertEqual(total(None), 3)
        self.assertEqual(total({"subject": "m1"}), 1)
        self.assertEqual(total({"inMailbox": inbox}), 3)
