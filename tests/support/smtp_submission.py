"""A real SMTP submission server for the tests and the demo: Debian's
aiosmtpd (1.4) with STARTTLS (required before AUTH and MAIL), AUTH PLAIN /
LOGIN checked against the test users, and delivery of every accepted
message into the recipients' Dovecot mailboxes through Dovecot's LMTP.

Run as a child process by fixture.SmtpServer under /usr/bin/python3 (the
interpreter that has python3-aiosmtpd):

    smtp_submission.py --port P --users users.json --cert C --key K \
                       --lmtp-port L --domain example.test

Recipients @domain are delivered to the Dovecot user named by the local
part (alice@example.test -> alice); other recipients are refused with 550.
Each accepted message is also written to --spool (one file per message,
as received, i.e. after the client removed Bcc) when given.
"""
import argparse
import asyncio
import json
import os
import signal
import smtplib
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Deliver:
    def __init__(self, lmtp_port, domain, spool):
        self.lmtp_port = lmtp_port
        self.domain = domain.lower()
        self.spool = spool
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local, _, dom = address.rpartition('@')
        if dom.lower() != self.domain or not local:
            return '550 5.1.1 <%s>: unknown recipient' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        users = [a.rpartition('@')[0] for a in envelope.rcpt_tos]
        data = envelope.original_content or envelope.content
        loop = asyncio.get_running_loop()
        try:
            refused = await loop.run_in_executor(None, self._lmtp, envelope.mail_from, users, data)
        except (OSError, smtplib.SMTPException) as e:
            return '451 4.3.0 delivery failed: %s' % e
        if refused:
            return '451 4.3.0 LMTP refused %s' % ','.join(sorted(refused))
        if self.spool:
            self.seq += 1
            with open(os.path.join(self.spool, '%d-%d.eml' % (time.time_ns(), self.seq)), 'wb') as f:
                f.write(data)
        return '250 2.0.0 OK delivered'

    def _lmtp(self, mail_from, users, data):
        # one LMTP transaction per recipient: after DATA, LMTP answers once
        # per recipient, which smtplib.LMTP.sendmail does not read
        refused = {}
        for user in users:
            with smtplib.LMTP('127.0.0.1', self.lmtp_port, timeout=30) as l:
                refused.update(l.sendmail(mail_from, [user], data))
        return refused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--users', required=True)
    ap.add_argument('--cert', required=True)
    ap.add_argument('--key', required=True)
    ap.add_argument('--lmtp-port', type=int, required=True)
    ap.add_argument('--domain', required=True)
    ap.add_argument('--spool')
    args = ap.parse_args()

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        with open(args.users) as f:         # re-read: tests add users on the fly
            users = json.load(f)
        login = auth_data.login.decode('utf-8', 'replace')
        ok = users.get(login) == auth_data.password.decode('utf-8', 'replace')
        return AuthResult(success=ok, handled=False)

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(args.cert, args.key)
    ctl = Controller(Deliver(args.lmtp_port, args.domain, args.spool), hostname='127.0.0.1',
                     port=args.port, server_hostname='localhost', tls_context=tls,
                     require_starttls=True, auth_required=True, auth_require_tls=True,
                     authenticator=authenticator, data_size_limit=10 * 1024 * 1024)
    ctl.start()
    print('smtp_submission: listening on 127.0.0.1:%d' % args.port, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    ctl.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
