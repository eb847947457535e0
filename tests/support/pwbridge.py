"""Drive headless Chromium from a Python test, one step at a time, through
tests/browser/pw_bridge.mjs (npm playwright-core + Debian chromium):

    with Browser() as b:
        b.run("await ctx.newPage(); await ctx.page.goto(args.url)", url=...)
        title = b.run("return await ctx.page.title()")

Each run() sends JavaScript (the body of an async function of ctx, args)
and returns its JSON result; a JavaScript exception raises BrowserError
with the stack. So a test can act in the page, then check IMAP with imaplib,
then act again, all in one browser session."""
import json
import os
import select
import subprocess
import time

from browser import NODE_DIR, script
from fixture import _pdeathsig_preexec


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self, timeout=60):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            ['node', script('pw_bridge.mjs')], cwd=NODE_DIR, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_pdeathsig_preexec)
        self.seq = 0
        self.buf = b''

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, js, timeout=None, **args):
        self.seq += 1
        line = json.dumps({'id': self.seq, 'js': js, 'args': args}) + '\n'
        self.proc.stdin.write(line.encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + (timeout or self.timeout)
        while b'\n' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError('browser step timed out:\n' + js)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    err = self.proc.stderr.read().decode('utf-8', 'replace')
                    raise BrowserError('browser exited: ' + err[-3000:])
                self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        out = json.loads(line)
        if not out['ok']:
            raise BrowserError(out['error'])
        return out['value']

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
