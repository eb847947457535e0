"""make demo: a throwaway Dovecot with ~300 real messages and jmapgate in front,
plus an SMTP submission server (aiosmtpd, delivering through Dovecot's LMTP)
so the two demo accounts can send each other mail.

Run by scripts/demo after the build. DEMO_PORT (default 8080) is the
gateway's port on 127.0.0.1. Ctrl-C or SIGTERM stops everything.
"""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import Dovecot, FixtureError, Gateway, REPO_ROOT  # noqa: E402

USER, PASSWORD = 'demo', 'demo'
FRIEND, FRIEND_PASSWORD = 'friend', 'friend'


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def port_taken(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(('127.0.0.1', port))
        except OSError:
            return True
    return False


def main():
    try:
        port = int(os.environ.get('DEMO_PORT', '8080'))
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        print('demo: DEMO_PORT must be a TCP port number, not %r' % os.environ.get('DEMO_PORT'),
              file=sys.stderr)
        return 2
    if port_taken(port):
        print('demo: port %d on 127.0.0.1 is already in use; choose another one with DEMO_PORT, '
              'e.g.  DEMO_PORT=%d make demo' % (port, port + 1 if port < 65535 else 8081),
              file=sys.stderr)
        return 1

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)

    dovecot = gw = smtp = None
    try:
        users = {USER: PASSWORD, FRIEND: FRIEND_PASSWORD}
        dovecot = Dovecot(users=users, lmtp=True, metadata=True)
        # Older mail is read, the newest 25 in INBOX are not; some are flagged.
        seeded = {}
        seeded.update(dovecot.seed_corpus(USER, {'INBOX': 200}, flagged_every=9,
                                          seen_every=1, unseen_last=25))
        seeded.update(dovecot.seed_corpus(USER, {'Archive': 70}, flagged_every=10, seen_every=1))
        seeded.update(dovecot.seed_corpus(USER, {'Sent': 30}, flagged_every=0, seen_every=1))
        dovecot.start()

        base = 'http://127.0.0.1:%d' % port
        env = {'JMAPGATE_LOG_LEVEL': os.environ.get('JMAPGATE_LOG_LEVEL', 'info'),
               'JMAPGATE_PUBLIC_URL': base}
        try:
            from smtp_fixture import DOMAIN, SmtpServer
            smtp = SmtpServer(dovecot, users).start()
            env.update({'JMAPGATE_SMTP_URL': smtp.url, 'JMAPGATE_SMTP_TLS_CA_FILE': smtp.cert_file,
                        'JMAPGATE_MAIL_DOMAIN': DOMAIN})
        except (FixtureError, OSError) as e:
            print('demo: no SMTP server, sending is off (%s)' % str(e).splitlines()[0], file=sys.stderr)
            smtp = None
        web = os.path.join(REPO_ROOT, 'web')
        if os.path.isdir(web):
            env['JMAPGATE_WEB_ROOT'] = web
        gw = Gateway(dovecot.url, env=env)
        gw.start(port=port)

        total = sum(v['count'] for v in seeded.values())
        boxes = ', '.join('%s %d' % (k, v['count']) for k, v in seeded.items())
        login = ("curl -s -X POST %s/api/v1/auth/login -H 'Content-Type: application/json' "
                 "-d '{\"username\":\"%s\",\"password\":\"%s\"}'" % (base, USER, PASSWORD))
        print(f"""
jmapgate demo is running

  URL:     {base}/{'   (webmail from web/)' if 'JMAPGATE_WEB_ROOT' in env else ''}
  login:   {USER} / {PASSWORD}     ({total} real messages: {boxes})
  IMAP:    {dovecot.url}   (throwaway Dovecot, same login)
  log:     {gw.log_file}

Try it (paste into another terminal):

  TOKEN=$({login} | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -s -H "Authorization: Bearer $TOKEN" {base}/api/v1/mailboxes
  curl -s -u {USER}:{PASSWORD} {base}/api/v1/mailboxes
""", flush=True)
        if smtp is not None:
            print(f"""Sending (SMTP {smtp.url}, delivering into this Dovecot): {USER}@{DOMAIN} writes to
{FRIEND}@{DOMAIN} (login {FRIEND} / {FRIEND_PASSWORD}); the copy lands in {USER}'s Sent:

  curl -s -u {USER}:{PASSWORD} {base}/api/v1/messages/send -H 'Content-Type: application/json' \\
       -d '{{"to": ["{FRIEND}@{DOMAIN}"], "subject": "Hi", "text": "Hello from the demo"}}'
  curl -s -u {FRIEND}:{FRIEND_PASSWORD} '{base}/api/v1/mailboxes/INBOX/messages?limit=5'
""", flush=True)
        print('Press Ctrl-C to stop.', flush=True)

        while True:
            time.sleep(0.5)
            if not gw.running:
                print('demo: jmapgate exited (%s); last log lines:\n%s'
                      % (gw.proc.returncode, '\n'.join(gw.log_text().splitlines()[-20:])),
                      file=sys.stderr)
                return 1
            if smtp is not None and smtp.proc.poll() is not None:
                print('demo: the SMTP server exited; log:\n%s' % open(smtp.log_file).read()[-2000:],
                      file=sys.stderr)
                return 1
            if not dovecot.running:
                print('demo: Dovecot exited; log:\n%s' % dovecot.log_text()[-2000:], file=sys.stderr)
                return 1
    except _Stop:
        print('\ndemo: stopping...', flush=True)
        return 0
    except FixtureError as e:
        print('demo: %s' % e, file=sys.stderr)
        return 1
    finally:
        # Ignore further Ctrl-C while shutting down, so nothing is left behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if gw is not None:
                gw.close()
        except FixtureError as e:
            print('demo: %s' % e, file=sys.stderr)
        finally:
            if smtp is not None:
                smtp.close()
            if dovecot is not None:
                dovecot.close()
        print('demo: stopped', flush=True)


if __name__ == '__main__':
    sys.exit(main())
