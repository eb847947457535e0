"""JMAP core against a real Dovecot: session resource, request envelope,
request-level and method-level errors, result references, Mailbox/get."""
import base64
import hashlib
import json
import os
import time
import unittest

from fixture import StackTestCase
from upstream import has, requires

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


class JmapCoreTest(StackTestCase):
    USERS = {"alice": "alice-pw"}
    GATEWAY_ENV = {"JMAPGATE_PUBLIC_URL": "https://mail.example.test/gw"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.gw.login("alice", "alice-pw")
        cls.auth = {"Authorization": "Bearer " + cls.token}
        st, _, cls.session = cls.gw.json("GET", "/.well-known/jmap", headers=cls.auth)
        assert st == 200, cls.session
        cls.account = cls.session["primaryAccounts"][MAIL]

    def api(self, calls, using=(CORE, MAIL), headers=None, raw=None):
        body = raw if raw is not None else json.dumps({"using": list(using),
                                                       "methodCalls": calls})
        hd = dict(self.auth)
        hd["Content-Type"] = "application/json"
        hd.update(headers or {})
        st, h, out = self.gw.request("POST", "/jmap/api", body, hd)
        return st, h, json.loads(out) if out else None

    def test_session_resource(self):
        s = self.session
        self.assertEqual(s["username"], "alice")
        for url in ("apiUrl", "downloadUrl", "uploadUrl", "eventSourceUrl"):
            self.assertTrue(s[url].startswith("https://mail.example.test/gw/"), s[url])
        for var in ("{accountId}", "{blobId}", "{type}", "{name}"):
            self.assertIn(var, s["downloadUrl"])
        for var in ("{types}", "{closeafter}", "{ping}"):
            self.assertIn(var, s["eventSourceUrl"])
        self.assertIn("{accountId}", s["uploadUrl"])
        core = s["capabilities"][CORE]
        for limit in ("maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest",
                      "maxConcurrentRequests", "maxCallsInRequest", "maxObjectsInGet",
                      "maxObjectsInSet", "collationAlgorithms"):
            self.assertIn(limit, core)
        acct = s["accounts"][self.account]
        mail = acct["accountCapabilities"][MAIL]
        for key in ("maxMailboxesPerEmail", "maxMailboxDepth", "maxSizeMailboxName",
                    "maxSizeAttachmentsPerEmail", "emailQuerySortOptions",
                    "mayCreateTopLevelMailbox"):
            self.assertIn(key, mail)
        self.assertTrue(s["state"])
        # alias and Basic auth give the same document
        basic = "Basic " + base64.b64encode(b"alice:alice-pw").decode()
        st, _, s2 = self.gw.json("GET", "/jmap/session", headers={"Authorization": basic})
        self.assertEqual(st, 200)
        self.assertEqual(s2, s)
        st, _, _ = self.gw.json("GET", "/jmap/session",
                                headers={"Authorization": "Basic " +
                                         base64.b64encode(b"alice:bad").decode()})
        self.assertEqual(st, 401)

    def test_echo_and_text_plain(self):
        args = {"hello": True, "n": [1, 2, {"x": None}]}
        for ctype in ("application/json", "text/plain;charset=UTF-8"):
            st, _, out = self.api([["Core/echo", args, "c1"]],
                                  headers={"Content-Type": ctype,
                                           "Accept": "application/json;jmapVersion=rfc-8621"})
            self.assertEqual(st, 200)
            self.assertEqual(out["methodResponses"], [["Core/echo", args, "c1"]])
            self.assertEqual(out["sessionState"], self.session["state"])

    def test_request_level_errors(self):
        cases = [
            (b"not json", "notJSON"),
            (b'{"using":[],"methodCalls":[],"using":[]}', "notJSON"),
            (b"[1]", "notRequest"),
            (b'{"using":"x","methodCalls":[]}', "notRequest"),
            (b'{"using":[],"methodCalls":[["a",{}]]}', "notRequest"),
            (b'{"using":["urn:example:nope"],"methodCalls":[]}', "unknownCapability"),
            (("{\"using\":[],\"methodCalls\":[],\"x\":" + "[" * 100 + "]" * 100 + "}").encode(),
             "notRequest"),
        ]
        for raw, kind in cases:
            st, h, out = self.api(None, raw=raw)
            self.assertEqual(st, 400, raw)
            self.assertEqual(out["type"], "urn:ietf:params:jmap:error:" + kind, raw)
            self.assertTrue(h["content-type"].startswith("application/problem+json"))
        calls = [["Core/echo", {}, str(i)] for i in range(200)]
        st, _, out = self.api(calls)
        self.assertEqual(st, 400)
        self.assertEqual(out["type"], "urn:ietf:params:jmap:error:limit")
        self.assertEqual(out["limit"], "maxCallsInRequest")

    def test_method_errors_do_not_fail_other_calls(self):
        st, _, out = self.api([
            ["Nope/get", {}, "a"],
            ["Mailbox/get", {"accountId": "not-mine"}, "b"],
            ["Mailbox/get", {"accountId": self.account, "properties": ["bogus"]}, "c"],
            ["Mailbox/get", {"accountId": self.account, "ids": "x"}, "d"],
            ["Mailbox/get", {"accountId": self.account,
                             "ids": [str(i) for i in range(5000)]}, "e"],
            ["Core/echo", {"ok": 1}, "f"],
        ])
        self.assertEqual(st, 200)
        r = out["methodResponses"]
        self.assertEqual([x[2] for x in r], list("abcdef"))
        self.assertEqual(r[0][1]["type"], "unknownMethod")
        self.assertEqual(r[1][1]["type"], "accountNotFound")
        self.assertEqual(r[2][1]["type"], "invalidArguments")
        self.assertEqual(r[3][1]["type"], "invalidArguments")
        self.assertEqual(r[4][1]["type"], "requestTooLarge")
        self.assertEqual(r[5], ["Core/echo", {"ok": 1}, "f"])
        # a method whose capability is not in "using" is unknown
        st, _, out = self.api([["Mailbox/get", {"accountId": self.account}, "a"]],
                              using=(CORE,))
        self.assertEqual(out["methodResponses"][0][1]["type"], "unknownMethod")

    def test_mailbox_get_and_references(self):
        st, _, out = self.api([
            ["Mailbox/get", {"accountId": self.account, "properties": ["name", "role"]}, "0"],
            ["Mailbox/get", {"accountId": self.account,
                             "#ids": {"resultOf": "0", "name": "Mailbox/get",
                                      "path": "/list/*/id"}}, "1"],
            ["Mailbox/get", {"accountId": self.account,
                             "#ids": {"resultOf": "0", "name": "Mailbox/query",
                                      "path": "/ids"}}, "2"],
        ])
        self.assertEqual(st, 200)
        first, second, third = out["methodResponses"]
        self.assertEqual(first[0], "Mailbox/get")
        names = {m["name"]: m for m in first[1]["list"]}
        self.assertEqual(names["Inbox" if "Inbox" in names else "INBOX"]["role"], "inbox")
        for m in first[1]["list"]:
            self.assertEqual(set(m), {"id", "name", "role"})
        self.assertEqual(len(second[1]["list"]), len(first[1]["list"]))
        for m in second[1]["list"]:
            for prop in ("id", "name", "parentId", "role", "sortOrder", "totalEmails",
                         "unreadEmails", "totalThreads", "unreadThreads", "myRights",
                         "isSubscribed"):
                self.assertIn(prop, m)
        self.assertEqual(second[1]["notFound"], [])
        self.assertEqual(first[1]["state"], second[1]["state"])
        self.assertEqual(third[1]["type"], "invalidResultReference")

    def test_mailbox_get_counts_and_not_found(self):
        raw = b"From: a@example.org\r\nSubject: count me\r\n\r\nbody\r\n"
        st, _, out = self.api([["Mailbox/get", {"accountId": self.account}, "0"]])
        inbox = [m for m in out["methodResponses"][0][1]["list"] if m["role"] == "inbox"][0]
        state0 = out["methodResponses"][0][1]["state"]
        self.dovecot.append("alice", "alice-pw", "INBOX", raw)
        st, _, out = self.api([["Mailbox/get", {"accountId": self.account,
                                                "ids": [inbox["id"], "nope"]}, "0"]])
        res = out["methodResponses"][0][1]
        self.assertEqual(res["list"][0]["totalEmails"], inbox["totalEmails"] + 1)
        self.assertEqual(res["list"][0]["unreadEmails"], inbox["unreadEmails"] + 1)
        self.assertEqual(res["notFound"], ["nope"])
        self.assertNotEqual(res["state"], state0)

    def mailbox_ids(self):
        st, _, out = self.api([["Mailbox/get", {"accountId": self.account}, "0"]])
        res = out["methodResponses"][0][1]
        self.assertIn("list", res, res)
        return {m["name"]: m["id"] for m in res["list"]}, res["state"]

    def test_mailbox_changes(self):
        imap = self.dovecot.imap("alice", "alice-pw")
        try:
            _, state0 = self.mailbox_ids()
            self.assertEqual(imap.create("Projects")[0], "OK")
            self.assertEqual(imap.create("Projects/2024")[0], "OK")
            st, _, out = self.api([["Mailbox/changes", {"accountId": self.account,
                                                        "sinceState": state0}, "0"]])
            ch = out["methodResponses"][0][1]
            ids, state1 = self.mailbox_ids()
            self.assertEqual(sorted(ch["created"]), sorted([ids["Projects"], ids["2024"]]))
            self.assertEqual(ch["updated"], [])
            self.assertEqual(ch["destroyed"], [])
            self.assertEqual(ch["newState"], state1)
            self.assertFalse(ch["hasMoreChanges"])
            # counts only
            self.dovecot.append("alice", "alice-pw", "Projects", b"Subject: x\r\n\r\nx\r\n")
            st, _, out = self.api([["Mailbox/changes", {"accountId": self.account,
                                                        "sinceState": state1}, "0"]])
            ch = out["methodResponses"][0][1]
            self.assertEqual(ch["updated"], [ids["Projects"]])
            self.assertEqual(sorted(ch["updatedProperties"]),
                             ["totalEmails", "totalThreads", "unreadEmails", "unreadThreads"])
            state2 = ch["newState"]
            # destroy two, paged one at a time
            self.assertEqual(imap.delete("Projects/2024")[0], "OK")
            self.assertEqual(imap.delete("Projects")[0], "OK")
            st, _, out = self.api([["Mailbox/changes", {"accountId": self.account,
                                                        "sinceState": state2,
                                                        "maxChanges": 1}, "0"]])
            first = out["methodResponses"][0][1]
            self.assertTrue(first["hasMoreChanges"])
            self.assertEqual(len(first["destroyed"]), 1)
            st, _, out = self.api([["Mailbox/changes", {"accountId": self.account,
                                                        "sinceState": first["newState"]}, "0"]])
            second = out["methodResponses"][0][1]
            self.assertFalse(second["hasMoreChanges"])
            self.assertEqual(sorted(first["destroyed"] + second["destroyed"]),
                             sorted([ids["Projects"], ids["2024"]]))
            self.assertEqual(second["newState"], self.mailbox_ids()[1])
        finally:
            imap.delete("Projects/2024")
            imap.delete("Projects")
            imap.logout()
        # a forged or foreign state cannot be used
        for bad in (state0[:-2] + ("AA" if state0[-2:] != "AA" else "BB"), "garbage"):
            st, _, out = self.api([["Mailbox/changes", {"accountId": self.account,
                                                        "sinceState": bad}, "0"]])
            self.assertEqual(out["methodResponses"][0][1]["type"], "cannotCalculateChanges")

    @requires("X-GUID")  # imaplib ground truth by STATUS X-GUID
    def test_mailbox_id_follows_the_folder_through_a_rename(self):
        # Dovecot's folder GUID (STATUS X-GUID) is the id's source, so a
        # RENAME keeps the Mailbox id and the ids of the emails inside it;
        # a folder deleted and created again is a new Mailbox.
        imap = self.dovecot.imap("alice", "alice-pw")
        try:
            for i in range(2):
                self.dovecot.append("alice", "alice-pw", "Before",
                                    b"Subject: r%d\r\nMessage-ID: <r%d@x>\r\n\r\nx\r\n" % (i, i))
            ids, mstate = self.mailbox_ids()
            mid = ids["Before"]
            typ, data = imap.status("Before", "(X-GUID)")
            guid = data[0].decode().rsplit("X-GUID ", 1)[1].rstrip(")")
            want = "m" + base64.urlsafe_b64encode(
                hashlib.sha256(b"objectid\0" + guid.encode()).digest()[:9]).decode().rstrip("=")
            self.assertEqual(mid, want)
            out = self.api([["Email/query", {"accountId": self.account,
                                             "filter": {"inMailbox": mid}}, "q"],
                            ["Email/get", {"accountId": self.account, "properties": ["subject"],
                                           "#ids": {"resultOf": "q", "name": "Email/query",
                                                    "path": "/ids"}}, "g"]])[2]
            emails = out["methodResponses"][0][1]["ids"]
            estate = out["methodResponses"][1][1]["state"]
            self.assertEqual(len(emails), 2)

            self.assertEqual(imap.rename("Before", "After")[0], "OK")
            ids2, _ = self.mailbox_ids()
            self.assertNotIn("Before", ids2)
            self.assertEqual(ids2["After"], mid)
            out = self.api([["Mailbox/changes", {"accountId": self.account,
                                                 "sinceState": mstate}, "c"],
                            ["Email/get", {"accountId": self.account, "ids": emails,
                                           "properties": ["mailboxIds", "subject"]}, "g"],
                            ["Email/changes", {"accountId": self.account,
                                               "sinceState": estate}, "e"]])[2]
            ch, got, ech = (r[1] for r in out["methodResponses"])
            self.assertEqual((ch["created"], ch["updated"], ch["destroyed"]), ([], [mid], []))
            self.assertEqual(got["notFound"], [])
            self.assertEqual(sorted(e["subject"] for e in got["list"]), ["r0", "r1"])
            self.assertTrue(all(e["mailboxIds"] == {mid: True} for e in got["list"]))
            self.assertEqual((ech["created"], ech["destroyed"]), ([], []))

            # the gateway's warm session still has After selected here
            self.assertEqual(imap.delete("After")[0], "OK")
            self.assertEqual(imap.create("After")[0], "OK")
            ids3, _ = self.mailbox_ids()
            self.assertNotEqual(ids3["After"], mid)
        finally:
            imap.delete("Before")
            if imap.delete("After")[0] != "OK":
                # Dovecot (maildir) fails a DELETE of a folder deleted and
                # created again within the same second: "[SERVERBUG]"
                time.sleep(1.1)
                imap.delete("After")
            imap.logout()

    def mset(self, **args):
        args["accountId"] = self.account
        st, _, out = self.api([["Mailbox/set", args, "s"]])
        self.assertEqual(st, 200)
        return out["methodResponses"][0][1]

    def imap_folders(self, imap):
        """{wire name: subscribed?} as an independent IMAP client sees it."""
        def names(data):
            return [l.decode().rsplit(' "/" ', 1)[1].strip('"') for l in data if l]
        subs = set(names(imap.lsub()[1]))
        return {n: n in subs for n in names(imap.list()[1])}

    @requires("STABLE-IDS")
    def test_mailbox_set_create_rename_move_destroy(self):
        imap = self.dovecot.imap("alice", "alice-pw")
        try:
            ids, state = self.mailbox_ids()
            create = {"kid": {"name": "2025", "parentId": "#top"},   # parent created below
                      "top": {"name": "Projekte \u00fc"},
                      "quiet": {"name": "Quiet", "isSubscribed": False}}
            st, _, out = self.api(None, raw=json.dumps({
                "using": [CORE, MAIL], "createdIds": {},
                "methodCalls": [["Mailbox/set", {"accountId": self.account, "ifInState": state,
                                                 "create": create}, "s"]]}))
            r = out["methodResponses"][0][1]
            self.assertEqual(sorted(r["created"]), ["kid", "quiet", "top"], r)
            self.assertEqual(r["oldState"], state)
            top, kid = r["created"]["top"]["id"], r["created"]["kid"]["id"]
            self.assertEqual(r["created"]["kid"]["parentId"], top)
            self.assertEqual(r["created"]["top"]["totalEmails"], 0)
            self.assertEqual(out["createdIds"], {c: r["created"][c]["id"] for c in r["created"]})
            seen = self.imap_folders(imap)
            self.assertTrue(seen["Projekte &APw-"])          # modified UTF-7, subscribed
            self.assertTrue(seen["Projekte &APw-/2025"])
            self.assertFalse(seen["Quiet"])
            ids, state2 = self.mailbox_ids()
            self.assertEqual(r["newState"], state2)
            self.assertEqual(ids["Projekte \u00fc"], top)

            # rename and move the child to the top level: same id, IMAP agrees,
            # the subscription follows the name
            r = self.mset(update={kid: {"name": "Year 2025", "parentId": None},
                                  ids["Quiet"]: {"isSubscribed": True}})
            self.assertEqual(r["updated"], {kid: None, ids["Quiet"]: None}, r)
            seen = self.imap_folders(imap)
            self.assertNotIn("Projekte &APw-/2025", seen)
            self.assertTrue(seen["Year 2025"])
            self.assertTrue(seen["Quiet"])
            ids2, _ = self.mailbox_ids()
            self.assertEqual(ids2["Year 2025"], kid)

            # refusals, each per object
            self.dovecot.append("alice", "alice-pw", "Year 2025", b"Subject: keep\r\n\r\nx\r\n")
            r = self.mset(create={"dup": {"name": "Quiet"}, "slash": {"name": "a/b"},
                                  "role": {"name": "R", "role": "trash"},
                                  "orphan": {"name": "O", "parentId": "nope"},
                                  "ctl": {"name": "a\tb"}, "noname": {},
                                  "ro": {"name": "X", "totalEmails": 3}},
                          update={ids2["INBOX"]: {"name": "Inbox2"},
                                  top: {"parentId": top},
                                  "nope": {"name": "x"},
                                  ids2["Quiet"]: {"sortOrder": 7}},
                          destroy=[ids2["INBOX"], "nope", kid])
            self.assertEqual(r["created"], {})
            types = {k: v["type"] for k, v in r["notCreated"].items()}
            self.assertEqual(types.pop("dup"), "alreadyExists", r["notCreated"])
            self.assertEqual(r["notCreated"]["dup"]["existingId"], ids2["Quiet"])
            self.assertEqual(set(types.values()), {"invalidProperties"}, r["notCreated"])
            self.assertEqual(len(types), 6)
            self.assertEqual(r["notCreated"]["role"]["properties"], ["role"])
            self.assertEqual(r["notCreated"]["orphan"]["properties"], ["parentId"])
            # sortOrder other than 0 needs METADATA (Cyrus has it; this
            # Dovecot is not configured for it)
            refused = {ids2["INBOX"]: "forbidden", top: "invalidProperties", "nope": "notFound"}
            if not has("METADATA"):
                refused[ids2["Quiet"]] = "invalidProperties"
            self.assertEqual({k: v["type"] for k, v in r["notUpdated"].items()}, refused)
            self.assertEqual({k: v["type"] for k, v in r["notDestroyed"].items()},
                             {ids2["INBOX"]: "forbidden", "nope": "notFound",
                              kid: "mailboxHasEmail"})
            self.assertEqual(r["updated"], {ids2["Quiet"]: None} if has("METADATA") else {})
            self.assertEqual(r["destroyed"], [])

            # a parent with a child, then the child with its mail, then the parent
            r = self.mset(create={"c": {"name": "Sub", "parentId": top}})
            sub = r["created"]["c"]["id"]
            r = self.mset(destroy=[top])
            self.assertEqual(r["notDestroyed"][top]["type"], "mailboxHasChild")
            r = self.mset(destroy=[sub, kid, ids2["Quiet"]], onDestroyRemoveEmails=True)
            self.assertEqual(sorted(r["destroyed"]), sorted([sub, kid, ids2["Quiet"]]), r)
            r = self.mset(destroy=[top])
            self.assertEqual(r["destroyed"], [top])
            seen = self.imap_folders(imap)
            for gone in ("Projekte &APw-", "Year 2025", "Quiet"):
                self.assertNotIn(gone, seen)
            st, _, out = self.api([["Mailbox/set", {"accountId": self.account,
                                                    "ifInState": "stale", "destroy": []}, "s"]])
            self.assertEqual(out["methodResponses"][0][1]["type"], "stateMismatch")
        finally:
            for n in ("Projekte &APw-/Sub", "Projekte &APw-/2025", "Projekte &APw-",
                      "Year 2025", "Quiet"):
                imap.delete('"%s"' % n)
            imap.logout()

    @requires("STABLE-IDS")
    def test_mailbox_set_references_across_calls(self):
        imap = self.dovecot.imap("alice", "alice-pw")
        try:
            st, _, out = self.api([
                ["Mailbox/set", {"accountId": self.account,
                                 "create": {"p": {"name": "CrossParent"}}}, "1"],
                ["Mailbox/set", {"accountId": self.account,
                                 "create": {"c": {"name": "Kid", "parentId": "#p"}}}, "2"]])
            self.assertNotIn("createdIds", out)   # not asked for
            first, second = (r[1] for r in out["methodResponses"])
            self.assertEqual(second["created"]["c"]["parentId"], first["created"]["p"]["id"],
                             second)
            self.assertIn("CrossParent/Kid", self.imap_folders(imap))
            # one call: rename the parent (the child moves with it), then
            # destroy the child under its new name
            parent, kid = first["created"]["p"]["id"], second["created"]["c"]["id"]
            r = self.mset(update={parent: {"name": "CrossRenamed"}}, destroy=[kid])
            self.assertEqual((r["updated"], r["destroyed"], r["notDestroyed"]),
                             ({parent: None}, [kid], {}), r)
            seen = self.imap_folders(imap)
            self.assertIn("CrossRenamed", seen)
            self.assertFalse([n for n in seen if n.startswith("Cross") and "/" in n], seen)
            self.assertEqual(self.mset(destroy=[parent])["destroyed"], [parent])
        finally:
            for n in ("CrossParent/Kid", "CrossParent", "CrossRenamed/Kid", "CrossRenamed"):
                imap.delete(n)
            imap.logout()

    def test_mailbox_query(self):
        imap = self.dovecot.imap("alice", "alice-pw")
        try:
            imap.create("Zeta")
            imap.create("Zeta/Alpha")
            ids, _ = self.mailbox_ids()
            q = lambda **a: self.api([["Mailbox/query", dict(a, accountId=self.account), "0"]])[2][
                "methodResponses"][0][1]
            r = q(filter={"role": "inbox"})
            self.assertEqual(r["ids"], [ids["INBOX"] if "INBOX" in ids else ids["Inbox"]])
            r = q(filter={"hasAnyRole": False}, sort=[{"property": "name"}])
            names = {v: k for k, v in ids.items()}
            ours = lambda r: [names[i] for i in r["ids"] if names.get(i) in ("Alpha", "Zeta")]
            self.assertEqual(ours(r), ["Alpha", "Zeta"])
            self.assertNotIn(ids["Sent"], r["ids"])
            r = q(filter={"parentId": ids["Zeta"]})
            self.assertEqual(r["ids"], [ids["Alpha"]])
            r = q(filter={"operator": "NOT", "conditions": [{"hasAnyRole": True}]},
                  sortAsTree=True, sort=[{"property": "name", "isAscending": False}])
            self.assertEqual(ours(r), ["Zeta", "Alpha"])
            r = q(filter={"name": "alp"}, filterAsTree=True)
            self.assertEqual(r["ids"], [])  # Alpha's parent does not match
            r = q(sort=[{"property": "sortOrder"}], limit=2, calculateTotal=True)
            self.assertEqual(len(r["ids"]), 2)
            self.assertEqual(r["total"], len(ids))
            self.assertEqual(r["ids"][0], ids.get("INBOX", ids.get("Inbox")))
            anchor = r["ids"][1]
            everything = q()["ids"]                  # the default order
            r = q(anchor=anchor, anchorOffset=-1, limit=1)
            self.assertEqual(r["position"], everything.index(anchor) - 1)
            self.assertEqual(r["ids"], [everything[everything.index(anchor) - 1]])
            err = self.api([["Mailbox/query", {"accountId": self.account, "anchor": "nope"},
                             "0"]])[2]["methodResponses"][0][1]
            self.assertEqual(err["type"], "anchorNotFound")
            err = self.api([["Mailbox/query", {"accountId": self.account,
                                               "filter": {"colour": "red"}}, "0"]])[2][
                "methodResponses"][0][1]
            self.assertIn(err["type"], ("invalidArguments", "unsupportedFilter"))
        finally:
            imap.delete("Zeta/Alpha")
            imap.delete("Zeta")
            imap.logout()

    def test_query_changes_asks_for_a_fresh_query(self):
        # RFC 8620 §5.6: a server that keeps no query history answers
        # cannotCalculateChanges, and the client re-runs the query.
        st, _, out = self.api([
            ["Email/query", {"accountId": self.account, "limit": 5}, "q"],
            ["Email/queryChanges", {"accountId": self.account, "sinceQueryState":
                                    {"resultOf": "q", "name": "Email/query",
                                     "path": "/queryState"}}, "bad"],
            ["Mailbox/queryChanges", {"accountId": self.account, "sinceQueryState": "x",
                                      "maxChanges": 0}, "zero"],
            ["Email/queryChanges", {"accountId": "not-mine", "sinceQueryState": "x"}, "acct"],
            ["Mailbox/queryChanges", {"accountId": self.account, "sinceQueryState": "x"}, "m"],
            ["Email/queryChanges", {"accountId": self.account, "upToId": None, "filter": {},
                                    "#sinceQueryState": {"resultOf": "q", "name": "Email/query",
                                                         "path": "/queryState"}}, "e"],
        ])
        self.assertEqual(st, 200)
        r = {x[2]: x[1] for x in out["methodResponses"]}
        self.assertIn("queryState", r["q"])
        self.assertEqual(r["bad"]["type"], "invalidArguments")  # a reference needs '#'
        self.assertEqual(r["zero"]["type"], "invalidArguments")
        self.assertEqual(r["acct"]["type"], "accountNotFound")
        self.assertEqual(r["m"]["type"], "cannotCalculateChanges")
        self.assertEqual(r["e"]["type"], "cannotCalculateChanges")
        self.assertIn("description", r["e"])

    def test_gzip_when_accepted(self):
        import gzip
        calls = [["Core/echo", {"pad": "x" * 5000}, "c1"]]
        st, h, raw = self.gw.request("POST", "/jmap/api", json.dumps(
            {"using": [CORE], "methodCalls": calls}), dict(self.auth, **{
                "Content-Type": "application/json", "Accept-Encoding": "deflate, gzip"}))
        self.assertEqual(st, 200)
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertIn("Accept-Encoding", h["vary"])
        self.assertLess(len(raw), 1000)
        doc = json.loads(gzip.decompress(raw))
        self.assertEqual(doc["methodResponses"][0][1]["pad"], "x" * 5000)
        st, h, raw = self.gw.request("POST", "/jmap/api", json.dumps(
            {"using": [CORE], "methodCalls": calls}), dict(self.auth, **{
                "Content-Type": "application/json", "Accept-Encoding": "gzip;q=0"}))
        self.assertNotIn("content-encoding", h)
        self.assertEqual(json.loads(raw)["methodResponses"][0][0], "Core/echo")

    def test_no_auth_is_401(self):
        st, h, body = self.gw.request("POST", "/jmap/api", b"{}",
                                      {"Content-Type": "application/json"})
        self.assertEqual(st, 401)

    @requires("UIDPLUS")
    def test_upload_url_works(self):
        """The advertised uploadUrl (behind public_url) takes an upload
        (the rest is in test_jmap_upload.py)."""
        url = self.session["uploadUrl"].replace("https://mail.example.test/gw", "")
        url = url.replace("{accountId}", self.account)
        st, h, body = self.gw.request("POST", url, b"hello", {"Content-Type": "text/plain"})
        self.assertEqual(st, 401)
        st, h, body = self.gw.request("POST", url, b"hello",
                                      dict(self.auth, **{"Content-Type": "text/plain"}))
        self.assertEqual(st, 201, body)
        p = json.loads(body)
        self.assertEqual((p["accountId"], p["type"], p["size"]), (self.account, "text/plain", 5))

if __name__ == "__main__":
    unittest.main()
