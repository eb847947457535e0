#!/bin/sh
# Entry point of the demo Dovecot: on the first start (empty volume) fill the
# demo user's Maildir with 300 real messages (SpamAssassin easy_ham, from the
# Debian package golang-github-gatherstars-com-jwz-dev): INBOX 200 (the
# newest 25 unread), Archive 70, Sent 30, every 9th flagged. Then run Dovecot
# in the foreground.
set -eu
CORPUS=/usr/share/gocode/src/github.com/gatherstars-com/jwz/test/testdata/ham
MAILDIR=/srv/mail/demo/Maildir
if [ ! -e /srv/mail/.seeded ] && [ -d "$CORPUS" ]; then
    i=0
    for f in $(ls "$CORPUS" | head -n 300); do
        i=$((i + 1))
        if [ $i -le 200 ]; then d=$MAILDIR; elif [ $i -le 270 ]; then d=$MAILDIR/.Archive; else d=$MAILDIR/.Sent; fi
        mkdir -p "$d/cur" "$d/new" "$d/tmp"
        flags=S
        if [ $i -gt 175 ] && [ $i -le 200 ]; then flags=; fi
        if [ $((i % 9)) -eq 0 ]; then flags="F$flags"; fi
        tail -n +2 "$CORPUS/$f" > "$d/tmp/seed"          # drop the mbox "From " line
        size=$(stat -c %s "$d/tmp/seed")
        mv "$d/tmp/seed" "$d/cur/$((1000000000 + i)).M$i.demo,S=$size:2,$flags"
    done
    chown -R mail:mail /srv/mail/demo
    touch /srv/mail/.seeded
    echo "seeded $i demo messages for user demo"
fi
exec dovecot -F
