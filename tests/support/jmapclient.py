"""A JMAP client for the tests: one login on a gateway (fixture.Gateway),
its account id, and method calls to /jmap/api.

    c = JmapClient(gw, "alice", "alice-pw")
    q = c.call(["Email/query", {"accountId": c.account, ...}])   # one call: its arguments
    q, g = c.call([...], [...])                                    # several: a list
    c.api(["Mailbox/get", {}])                                     # accountId added

call() and responses() send the arguments as given (a test may leave out
or spoil accountId on purpose); api() adds the account where missing.
Every request must answer HTTP 200; method-level errors come back as they
are in responses()."""

CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"


class JmapClient:
    def __init__(self, gw, user, password, using=(CORE, MAIL)):
        self.gw = gw
        self.using = list(using)
        self.auth = {"Authorization": "Bearer " + gw.login(user, password),
                     "Content-Type": "application/json"}
        st, _, session = gw.json("GET", "/.well-known/jmap", headers=self.auth)
        assert st == 200, (st, session)
        self.session = session
        self.account = session["primaryAccounts"][MAIL]

    def responses(self, *calls, gw=None):
        """The methodResponses ([name, arguments, callId] each) of calls,
        sent through gw (default: the login's gateway; same secret)."""
        body = {"using": self.using,
                "methodCalls": [[c[0], c[1], str(i)] for i, c in enumerate(calls)]}
        st, _, out = (gw or self.gw).json("POST", "/jmap/api", body, headers=self.auth)
        assert st == 200, (st, out)
        return out["methodResponses"]

    def call(self, *calls, gw=None):
        """The arguments of each response: one call's alone, else a list."""
        res = [r[1] for r in self.responses(*calls, gw=gw)]
        return res[0] if len(res) == 1 else res

    def api(self, *calls, gw=None):
        """The arguments of each response (always a list), accountId added."""
        calls = [[c[0], dict({"accountId": self.account}, **c[1])] for c in calls]
        return [r[1] for r in self.responses(*calls, gw=gw)]

    def mailbox_ids(self, gw=None):
        """{name: id} of every mailbox."""
        got = self.api(["Mailbox/get", {"properties": ["name"]}], gw=gw)[0]
        return {m["name"]: m["id"] for m in got["list"]}
