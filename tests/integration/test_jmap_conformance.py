"""Read-side conformance fixes (issue 12 item 4), each against a real
Dovecot: fractional UTCDates in filters, a folded quoted Message-ID, NFC
text, body part properties, SearchSnippet notFound, Mailbox/set errors and
server-set properties, and #creationId references in /get."""
import unittest

from fixture import StackTestCase
from upstream import skip_on

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"

FOLDED_ID = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: folded id zkq\r\n"
             b"Date: Tue, 01 Oct 2024 10:00:00 +0000\r\n"
             b"Message-ID: <\"020828081752Z.WT24519.\r\n 6*/PN=x\"@MHS>\r\n"
             b"Content-Type: text/plain\r\n\r\nbody\r\n")
NFD_SUBJECT = (b"From: a@example.org\r\nTo: b@example.org\r\n"
               b"Subject: =?UTF-8?Q?A=CC=8A?= nfc zkq\r\n"
               b"X-Name: =?UTF-8?Q?e=CC=81t=C3=A9?=\r\n"
               b"Date: Tue, 01 Oct 2024 10:00:00 +0000\r\nMessage-ID: <nfc@example.org>\r\n"
               b"Content-Type: text/plain\r\n\r\nbody\r\n")
MIXED = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: parts zkq\r\n"
         b"Date: Tue, 01 Oct 2024 10:00:00 +0000\r\nMessage-ID: <parts@example.org>\r\n"
         b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\nX-Part: one\r\n\r\nhello\r\n"
         b"--b1\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n"
         b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b1--\r\n")


class ConformanceTest(StackTestCase):
    USERS = {"alice": "alice-pw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for raw in (FOLDED_ID, NFD_SUBJECT, MIXED):
            cls.dovecot.append("alice", "alice-pw", "INBOX", raw)
        cls.auth = {"Authorization": "Bearer " + cls.gw.login("alice", "alice-pw"),
                    "Content-Type": "application/json"}
        _, _, s = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        cls.acct = s["primaryAccounts"][MAIL]
        r = cls.call(["Mailbox/get", {"accountId": cls.acct}])
        cls.box = {m["name"]: m for m in r["list"]}

    @classmethod
    def calls(cls, *calls):
        body = {"using": [CORE, MAIL],
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = cls.gw.json("POST", "/jmap/api", body, headers=cls.auth)
        assert st == 200, out
        return out["methodResponses"]

    @classmethod
    def call(cls, *calls):
        res = [r[1] for r in cls.calls(*calls)]
        return res[0] if len(res) == 1 else res

    def get_by_subject(self, word, **args):
        q = ["Email/query", {"accountId": self.acct, "filter": {"subject": word}}]
        g = dict(args, accountId=self.acct,
                 **{"#ids": {"resultOf": "0", "name": "Email/query", "path": "/ids"}})
        _, got = self.call(q, ["Email/get", g])
        return got

    def test_utcdate_filters_with_fractions(self):
        inbox = self.box["INBOX"]["id"]
        for flt, want in (({"before": "2030-01-01T00:00:00.169Z"}, 3),
                          ({"after": "2030-01-01T00:00:00.169Z"}, 0),
                          ({"before": "1990-01-01T00:00:00.5Z"}, 0),
                          ({"after": "1990-01-01T00:00:00.000Z"}, 3)):
            with self.subTest(flt=flt):
                r = self.call(["Email/query", {"accountId": self.acct,
                                               "filter": dict(flt, inMailbox=inbox)}])
                self.assertEqual(len(r.get("ids", [])), want, r)
        r = self.call(["Email/query", {"accountId": self.acct,
                                       "filter": {"inMailbox": inbox, "before": "2030-01-01"}}])
        self.assertEqual(r["type"], "invalidArguments")

    def test_folded_quoted_message_id_keeps_the_blank(self):
        got = self.get_by_subject("folded", properties=["messageId"])
        self.assertEqual(got["list"][0]["messageId"],
                         ['"020828081752Z.WT24519. 6*/PN=x"@MHS'])

    def test_text_is_nfc(self):
        got = self.get_by_subject("nfc", properties=["subject", "header:X-Name:asText"])
        e = got["list"][0]
        self.assertEqual(e["subject"], "\u00c5 nfc zkq")
        self.assertEqual(e["header:X-Name:asText"], "\u00e9t\u00e9")

    def test_body_part_properties(self):
        got = self.get_by_subject("parts", properties=["bodyStructure", "attachments"])
        tree = got["list"][0]["bodyStructure"]
        self.assertEqual(tree["type"], "multipart/mixed")
        self.assertEqual(len(tree["subParts"]), 2)
        for leaf in tree["subParts"] + got["list"][0]["attachments"]:
            self.assertNotIn("subParts", leaf)     # not asked for, not a multipart
            self.assertNotIn("headers", leaf)      # not in the default bodyProperties
        got = self.get_by_subject("parts", properties=["bodyStructure", "textBody"],
                                  bodyProperties=["partId", "headers", "subParts",
                                                  "header:X-Part:asText"])
        e = got["list"][0]
        self.assertEqual({h["name"] for h in e["bodyStructure"]["headers"]} >=
                         {"Subject", "Message-ID", "Content-Type"}, True)
        text = e["textBody"][0]
        self.assertEqual(set(text), {"partId", "headers", "subParts", "header:X-Part:asText"})
        self.assertIsNone(text["subParts"])
        self.assertEqual(text["header:X-Part:asText"], "one", text)
        self.assertIn({"name": "X-Part", "value": " one"}, text["headers"])
        bad = self.get_by_subject("parts", properties=["bodyStructure"],
                                  bodyProperties=["partId", "nonsense"])
        self.assertEqual(bad["type"], "invalidArguments")

    def test_snippet_not_found_is_null_when_all_found(self):
        r = self.calls(["Email/query", {"accountId": self.acct, "filter": {"subject": "zkq"}}],
                       ["SearchSnippet/get", {"accountId": self.acct,
                                              "filter": {"subject": "zkq"},
                                              "#emailIds": {"resultOf": "0",
                                                            "name": "Email/query",
                                                            "path": "/ids"}}])
        self.assertEqual(len(r[1][1]["list"]), 3)
        self.assertIsNone(r[1][1]["notFound"])

    def mset(self, **args):
        return self.call(["Mailbox/set", dict(args, accountId=self.acct)])

    @skip_on(("cyrus",), "with unixhierarchysep Cyrus accepts a dot in a folder name: a.b is created")
    def test_mailbox_set_errors_and_server_set_properties(self):
        archive = self.box["Archive"]
        r = self.mset(create={"dup": {"name": "Archive"}, "inbox": {"name": "inbox"},
                              "dot": {"name": "a.b"}})
        self.assertEqual(r["notCreated"]["dup"]["type"], "alreadyExists")
        self.assertEqual(r["notCreated"]["dup"]["existingId"], archive["id"])
        self.assertEqual(r["notCreated"]["inbox"]["type"], "alreadyExists")
        self.assertEqual(r["notCreated"]["dot"]["type"], "invalidProperties")
        self.assertEqual(r["notCreated"]["dot"]["properties"], ["name"])
        # the whole object sent back (server-set properties unchanged) is fine
        r = self.mset(update={archive["id"]: dict(archive)})
        self.assertIn(archive["id"], r["updated"], r)
        r = self.mset(update={archive["id"]: {"totalEmails": archive["totalEmails"] + 1}})
        self.assertEqual(r["notUpdated"][archive["id"]]["type"], "invalidProperties")
        self.assertEqual(r["notUpdated"][archive["id"]]["properties"], ["totalEmails"])
        # sortOrder: 0 by default, 0 accepted, anything else refused
        self.assertEqual({m["sortOrder"] for m in self.box.values()}, {0})
        r = self.mset(update={archive["id"]: {"sortOrder": 0}})
        self.assertIn(archive["id"], r["updated"])
        r = self.mset(update={archive["id"]: {"sortOrder": 5}})
        self.assertEqual(r["notUpdated"][archive["id"]]["properties"], ["sortOrder"])
        # a rename onto a sibling's name
        r = self.mset(update={archive["id"]: {"name": "Trash"}})
        self.assertEqual(r["notUpdated"][archive["id"]]["type"], "alreadyExists")
        self.assertEqual(r["notUpdated"][archive["id"]]["existingId"], self.box["Trash"]["id"])

    def test_get_accepts_creation_references(self):
        r = self.calls(["Mailbox/set", {"accountId": self.acct,
                                        "create": {"k": {"name": "Created zkq"}}}],
                       ["Mailbox/get", {"accountId": self.acct, "ids": ["#k", "#unknown"],
                                        "properties": ["name"]}])
        made = r[0][1]["created"]["k"]["id"]
        got = r[1][1]
        self.assertEqual(got["list"], [{"id": made, "name": "Created zkq"}])
        self.assertEqual(got["notFound"], ["#unknown"])
        self.call(["Mailbox/set", {"accountId": self.acct, "destroy": [made]}])


if __name__ == "__main__":
    unittest.main()
