"""A real nginx (Debian's package) in front of several gateways, on loopback,
unprivileged, with the config rendered from docker/nginx.conf (the file the
Docker layout ships), so the test checks the shipped configuration.

    with Nginx([gw1.port, gw2.port]) as ng:
        ng.port, ng.base_url, ng.conf_text

Rendering swaps only deployment details: the listen port, the upstream
servers (`server jmapgate:8080;` -> one line per gateway), the pid, log
and temp paths (inside the temp dir), and one worker process.
"""
import os
import re
import shutil
import signal
import subprocess
import time

import fixture

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TEMPLATE = os.path.join(REPO_ROOT, 'docker', 'nginx.conf')
NGINX_BIN = shutil.which('nginx') or '/usr/sbin/nginx'


def available():
    return os.access(NGINX_BIN, os.X_OK)


def render(template, d, port, upstream_ports):
    text = template
    servers = ' '.join('server 127.0.0.1:%d;' % p for p in upstream_ports)
    n = text.count('server jmapgate:8080;')
    assert n == 2, 'docker/nginx.conf: expected two "server jmapgate:8080;" lines, got %d' % n
    text = text.replace('server jmapgate:8080;', servers)
    text, n = re.subn(r'(?m)^(\s*)listen 8080;', r'\g<1>listen 127.0.0.1:%d;' % port, text)
    assert n == 1, 'docker/nginx.conf: expected one "listen 8080;"'
    text = re.sub(r'(?m)^pid .*;$', '', text)                  # given with -g
    text = re.sub(r'(?m)^worker_processes .*;$', 'worker_processes 1;', text)
    text = text.replace('access_log /dev/stdout', 'access_log %s/access.log' % d)
    text = text.replace('error_log /dev/stderr', 'error_log %s/error.log' % d)
    temps = ''.join('    %s_temp_path %s/tmp/%s;\n' % (k, d, k)
                    for k in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
    text = re.sub(r'(?m)^http \{\n', 'http {\n' + temps, text, count=1)
    return text


class Nginx:
    def __init__(self, upstream_ports, port=None):
        self.upstream_ports = list(upstream_ports)
        self.port = port or fixture.free_port()
        self.base_url = 'http://127.0.0.1:%d' % self.port
        self.dir = fixture._make_tmpdir('nginx')
        os.makedirs(os.path.join(self.dir, 'tmp'), exist_ok=True)
        if os.geteuid() == 0:   # the workers run as nobody: let them reach tmp/
            os.chmod(self.dir, 0o755)
        with open(TEMPLATE) as f:
            self.conf_text = render(f.read(), self.dir, self.port, self.upstream_ports)
        self.conf = os.path.join(self.dir, 'nginx.conf')
        with open(self.conf, 'w') as f:
            f.write(self.conf_text)
        self.log_file = os.path.join(self.dir, 'nginx.out')
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=10.0):
        argv = [NGINX_BIN, '-p', self.dir, '-c', self.conf, '-e', self.dir + '/error.log',
                '-g', 'daemon off; pid %s/nginx.pid;' % self.dir]
        t = subprocess.run(argv + ['-t'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        if t.returncode != 0:
            raise fixture.FixtureError('nginx -t refused the rendered config:\n%s'
                                       % t.stdout.decode('utf-8', 'replace'))
        self.proc = fixture._spawn(argv, 'nginx %s' % self.base_url, self.log_file,
                                   cwd=self.dir)
        deadline = time.monotonic() + timeout
        while not fixture._port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise fixture.FixtureError('nginx did not start:\n%s' % self.error_log())
            time.sleep(0.02)
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.dir, 'error.log'), 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def close(self):
        if self.proc is not None:
            fixture._kill_proc(self.proc, signal.SIGQUIT, timeout=5)
            fixture._unregister_proc(self.proc)
            self.proc = None
        fixture._remove_tmpdir(self.dir)
