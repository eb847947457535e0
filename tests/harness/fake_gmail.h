/* fake_gmail.h - the Gmail profile of the scripted fake IMAP server
 * (fake_imap.h): script pieces that answer as imap.gmail.com does, for
 * the quirks no server of the integration tier reproduces.
 *
 * What Gmail does, from Google's "IMAP Extensions" page and its observed
 * answers:
 *   - capabilities: X-GM-EXT-1 (X-GM-MSGID, X-GM-THRID, X-GM-LABELS, X-GM-RAW),
 *     XLIST, CONDSTORE (not on every account: FAKE_GMAIL_CAPS_NO_CONDSTORE),
 *     no QRESYNC, no SEARCHRES, no OBJECTID, no NOTIFY, no THREAD/SORT;
 *     pre-login SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER;
 *   - folders: INBOX, "[Gmail]" (\Noselect) with All Mail (\All), Drafts,
 *     Important (\Important), Sent Mail (\Sent), Spam (\Junk), Starred
 *     (\Flagged), Trash (\Trash); user labels are folders;
 *   - one message sits in every folder of its labels, with a UID of its own
 *     in each, and in All Mail unless it is in Trash or Spam; X-GM-MSGID
 *     (64-bit decimal) is the same everywhere, and so is X-GM-THRID;
 *     X-GM-LABELS lists system labels as flags (\Inbox \Sent \Important
 *     \Starred \Draft), user labels as astrings ("Muy Importante");
 *   - UID SEARCH X-GM-MSGID n / X-GM-THRID n (numbers, unquoted);
 *     UID STORE n +X-GM-LABELS (l ...) / -X-GM-LABELS;
 *   - IDLE is cut after about 10 minutes, with "* BYE" or a bare close
 *     (FAKE_GMAIL_IDLE_BYE / _CLOSE take the delay, so a test waits 1 s);
 *   - AUTHENTICATE XOAUTH2 with a bad token answers a continuation with a
 *     base64 JSON {"status":"400",...}; the client must send an empty line,
 *     then the NO comes.
 * The fake stays a script: each test writes the exchange it expects, with
 * these pieces for the Gmail parts.
 */
#ifndef FAKE_GMAIL_H
#define FAKE_GMAIL_H

#include "harness/fake_imap.h"

#define FAKE_GMAIL_GREETING "* OK Gimap ready for requests from 127.0.0.1 a1mb\r\n"
#define FAKE_GMAIL_PRELOGIN                                                                        \
    "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY "     \
    "SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER\r\n$TAG OK Thats "     \
    "all she wrote! a1mb\r\n"
#define FAKE_GMAIL_CAPS_BASE                                                                       \
    "IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS "                \
    "COMPRESS=DEFLATE ENABLE MOVE"
#define FAKE_GMAIL_CAPS_TAIL                                                                       \
    " ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584"
/* The capability answer after login, with and without CONDSTORE. */
#define FAKE_GMAIL_CAPS                                                                            \
    "* CAPABILITY " FAKE_GMAIL_CAPS_BASE " CONDSTORE" FAKE_GMAIL_CAPS_TAIL "\r\n$TAG OK Success\r\n"
#define FAKE_GMAIL_CAPS_NO_CONDSTORE                                                               \
    "* CAPABILITY " FAKE_GMAIL_CAPS_BASE FAKE_GMAIL_CAPS_TAIL "\r\n$TAG OK Success\r\n"
#define FAKE_GMAIL_ID_ANSWER                                                                       \
    "* ID (\"name\" \"GImap\" \"vendor\" \"Google, Inc.\" \"support-url\" "                        \
    "\"https://support.google.com/mail\")\r\n$TAG OK Success\r\n"

/* The whole login of an ib_session: greeting, CAPABILITY, LOGIN, ID (the
   pre-login caps offer it), NAMESPACE, CAPABILITY, then ENABLE CONDSTORE
   when offered: FAKE_GMAIL_LOGIN / FAKE_GMAIL_LOGIN_NO_CONDSTORE. */
#define FAKE_GMAIL_LOGIN_START                                                                     \
    FI_SEND(FAKE_GMAIL_GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(FAKE_GMAIL_PRELOGIN),          \
        FI_EXPECT("LOGIN"), FI_SEND("$TAG OK alice@example.com authenticated (Success)\r\n"),     \
        FI_EXPECT("ID ("), FI_SEND(FAKE_GMAIL_ID_ANSWER)
#define FAKE_GMAIL_AFTER_LOGIN(caps)                                                               \
    FI_EXPECT("NAMESPACE"), FI_SEND("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n$TAG OK Success\r\n"),  \
        FI_EXPECT("CAPABILITY"), FI_SEND(caps)
#define FAKE_GMAIL_LOGIN                                                                           \
    FAKE_GMAIL_LOGIN_START, FAKE_GMAIL_AFTER_LOGIN(FAKE_GMAIL_CAPS), FI_EXPECT("ENABLE CONDSTORE"), \
        FI_SEND("* ENABLED CONDSTORE\r\n$TAG OK Success\r\n")
#define FAKE_GMAIL_LOGIN_NO_CONDSTORE                                                              \
    FAKE_GMAIL_LOGIN_START, FAKE_GMAIL_AFTER_LOGIN(FAKE_GMAIL_CAPS_NO_CONDSTORE)

/* The folder listing (the LIST-STATUS command is the test's to expect):
   UIDVALIDITYs INBOX 11, All Mail 12, Work 13, the rest 20-25; every
   HIGHESTMODSEQ 900 (FAKE_GMAIL_FOLDERS), or none (an account without
   CONDSTORE: FAKE_GMAIL_FOLDERS_NO_MODSEQ). */
/* One folder: its LIST line (attributes attrs) and its STATUS. */
#define FAKE_GMAIL_BOX(attrs, name, n, uidnext, uidv, ms)                                          \
    "* LIST (" attrs ") \"/\" \"" name "\"\r\n* STATUS \"" name "\" (MESSAGES " #n " UNSEEN 0 "     \
    "UIDVALIDITY " #uidv " UIDNEXT " #uidnext ms ")\r\n"
#define FAKE_GMAIL_FOLDERS_WITH(ms)                                                                \
    FAKE_GMAIL_BOX("\\HasNoChildren \\Subscribed", "INBOX", 2, 30, 11, ms)                           \
    "* LIST (\\HasChildren \\Noselect \\Subscribed) \"/\" \"[Gmail]\"\r\n"                         \
    FAKE_GMAIL_BOX("\\All \\HasNoChildren \\Subscribed", "[Gmail]/All Mail", 3, 90, 12, ms)           \
    FAKE_GMAIL_BOX("\\Drafts \\HasNoChildren \\Subscribed", "[Gmail]/Drafts", 0, 1, 20, ms)           \
    FAKE_GMAIL_BOX("\\HasNoChildren \\Important \\Subscribed", "[Gmail]/Important", 1, 5, 21, ms)     \
    FAKE_GMAIL_BOX("\\HasNoChildren \\Sent \\Subscribed", "[Gmail]/Sent Mail", 0, 1, 22, ms)          \
    FAKE_GMAIL_BOX("\\HasNoChildren \\Junk \\Subscribed", "[Gmail]/Spam", 0, 1, 23, ms)               \
    FAKE_GMAIL_BOX("\\Flagged \\HasNoChildren \\Subscribed", "[Gmail]/Starred", 0, 1, 24, ms)         \
    FAKE_GMAIL_BOX("\\HasNoChildren \\Subscribed \\Trash", "[Gmail]/Trash", 0, 1, 25, ms)             \
    FAKE_GMAIL_BOX("\\HasNoChildren \\Subscribed", "Work", 1, 8, 13, ms)                             \
    "$TAG OK Success\r\n"

#define FAKE_GMAIL_FOLDERS FAKE_GMAIL_FOLDERS_WITH(" HIGHESTMODSEQ 900")
#define FAKE_GMAIL_FOLDERS_NO_MODSEQ FAKE_GMAIL_FOLDERS_WITH("")

/* One message as Gmail answers a FETCH of its ids and labels. */
#define FAKE_GMAIL_MSGID "1278455344230334865"
#define FAKE_GMAIL_THRID "1266894439832287888"

/* IDLE that the server cuts after ms milliseconds (Gmail: ~10 minutes),
   with "* BYE" or by just closing the connection. */
#define FAKE_GMAIL_IDLE_BYE(ms)                                                                    \
    FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"), FI_SLEEP(ms),                                      \
        FI_SEND("* BYE Connection closed for inactivity\r\n"), FI_CLOSE
#define FAKE_GMAIL_IDLE_CLOSE(ms) FI_EXPECT("IDLE"), FI_SEND("+ idling\r\n"), FI_SLEEP(ms), FI_CLOSE

/* AUTHENTICATE XOAUTH2 with a token Google refuses: the JSON challenge
   (base64 of {"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}),
   the client's empty line, then NO. */
#define FAKE_GMAIL_XOAUTH2_REFUSED                                                                 \
    FI_SEND(FAKE_GMAIL_GREETING), FI_EXPECT("CAPABILITY"), FI_SEND(FAKE_GMAIL_PRELOGIN),          \
        FI_EXPECT("AUTHENTICATE XOAUTH2 "),                                                        \
        FI_SEND("+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwu"  \
                "Z29vZ2xlLmNvbS8ifQ==\r\n"),                                                       \
        FI_EXPECT("^"), FI_SEND("$TAG NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)\r\n")

#endif
