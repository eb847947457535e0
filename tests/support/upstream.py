"""Which IMAP server the integration tests run against (the upstream
matrix, issue 18), and what each test needs of it.

JMAPGATE_UPSTREAM picks the profile (default 'dovecot'):

  dovecot      Dovecot 2.3.19 as installed: every extension the gateway uses
  cyrus        Cyrus IMAP 3.6 (tests/support/cyrus.py): OBJECTID, no NOTIFY,
               no X-GUID; Dovecot-only set-up (maildir writes, doveadm,
               LMTP, DOVECOT_KW options) is skipped
  bare         Dovecot cut to RFC 3501 + IDLE (fixture.PROFILES)
  bare-noidle  the same without IDLE

StackTestCase starts the profile's server; a test (or class) says what it
needs with @requires('CONDSTORE', 'MOVE', ...) and is skipped, with the
reason, where the profile lacks it. Names are IMAP capabilities, plus:

  X-GUID    Dovecot's message GUIDs (the greeting names Dovecot)
  STABLE-IDS  Email ids that survive a move and Mailbox ids that survive a
            rename (X-GUID or OBJECTID; elsewhere ids are locations)
  DOVECOT   the Dovecot fixture itself: maildir writes (seed_corpus's
            unseen_last, maildir()), doveadm, LMTP, connection_count,
            frozen/restart, Dovecot config options

Every profile's set is checked against the live server's CAPABILITY by
tests/integration/test_upstream_profile.py.
"""
import os
import unittest

NAME = os.environ.get('JMAPGATE_UPSTREAM', 'dovecot')

_BARE = {'IMAP4REV1', 'LITERAL+', 'SASL-IR', 'ID', 'ENABLE', 'DOVECOT'}
CAPS = {
    'dovecot': _BARE | {'IDLE', 'CONDSTORE', 'QRESYNC', 'MOVE', 'UIDPLUS', 'SPECIAL-USE',
                        'LIST-STATUS', 'LIST-EXTENDED', 'ESEARCH', 'SORT', 'THREAD=REFERENCES',
                        'NAMESPACE', 'NOTIFY', 'UNSELECT', 'PREVIEW', 'X-GUID', 'STABLE-IDS'},
    'cyrus': {'IMAP4REV1', 'LITERAL+', 'ID', 'ENABLE', 'IDLE', 'CONDSTORE', 'QRESYNC',
              'MOVE', 'UIDPLUS', 'SPECIAL-USE', 'LIST-STATUS', 'LIST-EXTENDED', 'ESEARCH', 'SORT',
              'THREAD=REFERENCES', 'NAMESPACE', 'UNSELECT', 'PREVIEW', 'OBJECTID', 'METADATA',
              'STABLE-IDS'},
    'bare': _BARE | {'IDLE'},
    'bare-noidle': _BARE,
}
if NAME not in CAPS:
    raise RuntimeError('JMAPGATE_UPSTREAM=%r: one of %s' % (NAME, ', '.join(CAPS)))


def has(*needs):
    return all(n.upper() in CAPS[NAME] for n in needs)


def missing(*needs):
    return [n for n in needs if n.upper() not in CAPS[NAME]]


def skip_on(profiles, why):
    """Skip on the named profiles, for a difference between servers that
    is documented (README "Upstream servers tested"), not a lack."""
    if NAME in profiles:
        return unittest.skip('%s upstream: %s' % (NAME, why))
    return lambda obj: obj


def requires(*needs):
    """Skip a test method or TestCase class unless the profile has every
    one of needs."""
    lack = missing(*needs)
    if not lack:
        return lambda obj: obj
    return unittest.skip('needs %s; the %s upstream has not' % (' '.join(lack), NAME))
