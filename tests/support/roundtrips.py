"""The operations of issue 19 ("round trips are the latency"), run against a
gateway whose IMAP upstream sits behind a LatencyProxy, each measured alone:
wall time, and the round trips and commands the proxy counted.

Shared by bench/bench_round_trips.py (with a delay) and
tests/integration/test_round_trips.py (no delay, ceilings on the counts).

    sc = Scenario(dovecot, gateway, proxy)   # seeds nothing; see seed()
    sc.prepare()
    for name in OPERATIONS: ms, counted = sc.run(name)

Every answer is checked (status and content), so a broken route cannot
look cheap. A flag change "behind the gateway's back" is made by an
imaplib client straight to Dovecot, not through the proxy.
"""
import imaplib
import time

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
USER, PASSWORD = "rt", "rt-pw"
FOLDERS = ("Archive", "Lists", "Receipts", "Travel")

# name -> the round trips a careful hand-written IMAP client needs for the
# same answer, on a warm, logged-in connection with nothing selected (login:
# a new connection). Its conversation, per operation:
MINIMAL_ROUND_TRIPS = {
    # greeting (carries CAPABILITY) -> LOGIN + ENABLE QRESYNC + ID
    # pipelined; the tagged OK of LOGIN carries [CAPABILITY ...] = 1
    "login": 1,
    # LIST "" "*" RETURN (SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN
    # UIDVALIDITY UIDNEXT HIGHESTMODSEQ)) (LIST-EXTENDED + LIST-STATUS) = 1
    "folder_list": 1,
    # EXAMINE INBOX (CONDSTORE) -> EXISTS, UIDNEXT, UIDVALIDITY,
    # HIGHESTMODSEQ; then FETCH n-49:n (UID FLAGS ENVELOPE BODYSTRUCTURE
    # RFC822.SIZE) by sequence number = 2
    "first_page": 2,
    # EXAMINE INBOX + UID FETCH u (FLAGS ENVELOPE BODYSTRUCTURE) pipelined;
    # then UID FETCH u (BODY.PEEK[<text parts>]) = 2
    "message_detail": 2,
    # EXAMINE INBOX (CONDSTORE) + UID FETCH 1:4294967295 (FLAGS)
    # (CHANGEDSINCE m VANISHED) pipelined (the cursor holds UIDVALIDITY and MODSEQ) = 1
    "rest_changes_none": 1,
    "rest_changes_flag": 1,
    # LIST-STATUS (the state vector) + EXAMINE INBOX + UID SORT (REVERSE
    # ARRIVAL) pipelined; then UID FETCH of the 50 = 2
    "jmap_query_get_50": 2,
    # LIST-STATUS (which folders moved on); then per changed folder EXAMINE
    # + UID FETCH 1:4294967295 (FLAGS) (CHANGEDSINCE m VANISHED) pipelined = 2
    "jmap_email_changes": 2,
    # (id -> folder, UID from a location cache) SELECT INBOX + UID STORE
    # +FLAGS.SILENT + LIST-STATUS (the new state) pipelined = 1. The
    # gateway's one write (ib_guarded.h) adds the old state's LIST-STATUS in
    # front, guards the STORE by the message's GUID (UID SEARCH RETURN
    # (SAVE ALL) UID u X-GUID g, then UID STORE $) and ends with UNSELECT
    # in front of the last LIST-STATUS: 6 commands, still 1
    "jmap_set_keywords": 1,
    # SELECT INBOX + UID MOVE u Archive pipelined ([COPYUID] names the new
    # UID) = 1. The gateway's one write (ib_guarded_move) adds UID FETCH u
    # (X-GUID) for the reply's id and UNSELECT: 4 commands, still 1
    "move": 1,
}
OPERATIONS = tuple(MINIMAL_ROUND_TRIPS)


def seed(dovecot, inbox_messages, extra_folders=0):
    """USER's account: an INBOX of inbox_messages corpus messages (written
    straight into the maildir), a few small folders and extra_folders more
    of one message each. Call before the gateway first looks at the
    account."""
    counts = {"INBOX": inbox_messages}
    counts.update({f: 20 for f in FOLDERS})
    counts.update({"Bulk%03d" % i: 1 for i in range(extra_folders)})
    dovecot.add_user(USER, PASSWORD)
    dovecot.seed_corpus(USER, counts)


class Scenario:
    def __init__(self, dovecot, gw, proxy):
        self.dv, self.gw, self.proxy = dovecot, gw, proxy
        self.logins = 0
        self.side = None            # imaplib straight to Dovecot
        self.auth = None
        self.cursor = None
        self.page = None
        self.email_state = None
        self.emails = None
        self.moved = 0

    def close(self):
        if self.side is not None:
            try:
                self.side.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
            self.side = None

    def prepare(self, login_users):
        """Token, JMAP account and mailbox ids; login_users fresh users (one
        per measured login: a login of a user with a warm pooled session
        would not open a connection)."""
        for i in range(login_users):
            self.dv.add_user("login%d" % i, "login-pw")
        self.auth = {"Authorization": "Bearer " + self.gw.login(USER, PASSWORD),
                     "Content-Type": "application/json"}
        st, _, s = self.gw.json("GET", "/.well-known/jmap", headers=self.auth)
        assert st == 200, st
        self.account = s["primaryAccounts"][MAIL]
        boxes = self.jmap(["Mailbox/get", {"accountId": self.account, "properties": ["role"]}])
        self.inbox = [b["id"] for b in boxes[0]["list"] if b["role"] == "inbox"][0]
        self.side = self.dv.imap(USER, PASSWORD)
        self.side.select("INBOX")

    def run(self, name):
        """Measure one operation: (wall ms, proxy totals)."""
        op = getattr(self, "op_" + name)
        before = getattr(self, "before_" + name, None)
        if before is not None:
            before()            # outside the measurement
        self.proxy.reset()
        t0 = time.monotonic()
        check = op()
        ms = (time.monotonic() - t0) * 1000
        counted = self.proxy.totals()
        check()
        return ms, counted

    # -- helpers -----------------------------------------------------------
    def jmap(self, *calls):
        body = {"using": [CORE, MAIL],
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = self.gw.json("POST", "/jmap/api", body, headers=self.auth)
        assert st == 200, out
        return [r[1] for r in out["methodResponses"]]

    def rest(self, method, path, body=None):
        st, _, out = self.gw.json(method, path, body, headers=self.auth)
        assert st == 200, (method, path, st, out)
        return out

    def toggle_flag_behind(self, uid):
        """\\Flagged on/off on INBOX uid, by another IMAP client."""
        typ, data = self.side.uid("FETCH", str(uid), "(FLAGS)")
        assert typ == "OK" and data[0], (typ, data)
        on = b"\\Flagged" in data[0]
        typ, _ = self.side.uid("STORE", str(uid), "-FLAGS" if on else "+FLAGS", "(\\Flagged)")
        assert typ == "OK", typ

    # -- operations: each returns a check run after the counters are read --
    def op_login(self):
        user = "login%d" % self.logins
        self.logins += 1
        st, _, out = self.gw.json("POST", "/api/v1/auth/login",
                                  {"username": user, "password": "login-pw"})
        return lambda: self._ok(st == 200 and out.get("token"), "login", st)

    def op_folder_list(self):
        out = self.rest("GET", "/api/v1/mailboxes")
        names = {m["path"] for m in out["mailboxes"]}
        return lambda: self._ok(set(FOLDERS) <= names, "folder list", names)

    def op_first_page(self):
        self.page = self.rest("GET", "/api/v1/mailboxes/INBOX/messages?limit=50")
        self.cursor = self.page["cursor"]
        return lambda: self._ok(len(self.page["messages"]) == 50, "page", len(self.page["messages"]))

    def op_message_detail(self):
        uid = self.page["messages"][0]["uid"]
        out = self.rest("GET", "/api/v1/mailboxes/INBOX/messages/%d" % uid)
        return lambda: self._ok(out.get("uid") == uid, "detail", out.get("uid"))

    def op_rest_changes_none(self):
        out = self.rest("GET", "/api/v1/mailboxes/INBOX/changes?cursor=" + self.cursor)
        self.cursor = out["cursor"]
        return lambda: self._ok(not (out["added"] or out["flags"] or out["removed"] or
                                     out["resync"]), "changes none", out)

    def before_rest_changes_flag(self):
        self.toggle_flag_behind(self.page["messages"][1]["uid"])

    def op_rest_changes_flag(self):
        uid = self.page["messages"][1]["uid"]
        out = self.rest("GET", "/api/v1/mailboxes/INBOX/changes?cursor=" + self.cursor)
        self.cursor = out["cursor"]
        return lambda: self._ok([f["uid"] for f in out["flags"]] == [uid], "changes flag", out)

    def op_jmap_query_get_50(self):
        q, g = self.jmap(["Email/query", {"accountId": self.account, "limit": 50,
                                          "filter": {"inMailbox": self.inbox},
                                          "sort": [{"property": "receivedAt",
                                                    "isAscending": False}]}],
                         ["Email/get", {"accountId": self.account,
                                        "#ids": {"resultOf": "0", "name": "Email/query",
                                                 "path": "/ids"},
                                        "properties": ["subject", "from", "receivedAt",
                                                       "keywords", "preview"]}])
        self.email_state, self.emails = g["state"], [e["id"] for e in g["list"]]
        return lambda: self._ok(len(g["list"]) == 50, "query+get", len(g["list"]))

    def before_jmap_email_changes(self):
        self.toggle_flag_behind(self.page["messages"][2]["uid"])

    def op_jmap_email_changes(self):
        ch, = self.jmap(["Email/changes", {"accountId": self.account,
                                           "sinceState": self.email_state}])
        self.email_state = ch.get("newState", self.email_state)
        return lambda: self._ok(len(ch.get("updated", [])) == 1, "Email/changes", ch)

    def op_jmap_set_keywords(self):
        eid = self.emails[3]
        st, = self.jmap(["Email/set", {"accountId": self.account,
                                       "update": {eid: {"keywords/$flagged": True}}}])
        return lambda: self._ok(eid in (st.get("updated") or {}), "Email/set", st)

    def op_move(self):
        # the oldest message of the first page: never one an op above uses
        uid = self.page["messages"][-1 - self.moved]["uid"]
        self.moved += 1
        out = self.rest("POST", "/api/v1/mailboxes/INBOX/messages/%d/move" % uid,
                        {"to": "Archive"})
        return lambda: self._ok(out.get("mailbox") == "Archive", "move", out)

    @staticmethod
    def _ok(cond, what, detail):
        if not cond:
            raise AssertionError("%s: unexpected answer %r" % (what, detail))
