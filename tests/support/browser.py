"""What the browser tier needs: Debian's chromium driven by npm
playwright-core from tests/node_modules (scripts/install-deps)."""
import os
import shutil
import unittest

from fixture import REPO_ROOT

NODE_DIR = os.path.join(REPO_ROOT, "tests")
WEB_ROOT = os.path.join(REPO_ROOT, "web")

requires_browser = unittest.skipUnless(
    shutil.which("node") and os.path.exists("/usr/bin/chromium") and
    os.path.isdir(os.path.join(NODE_DIR, "node_modules", "playwright-core")),
    "needs node, Debian chromium and npm ci in tests/ (scripts/install-deps)")


def script(name):
    """Path of a node script in tests/browser/."""
    return os.path.join(NODE_DIR, "browser", name)
