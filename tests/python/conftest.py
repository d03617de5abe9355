"""A live Attest server for the LabKey client tests: fresh SQLite database, the Synthea extract
imported as study "synthea", an admin and a researcher, session keys allowed."""

import csv
import json
import os
import secrets
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("ATTEST_BIN", str(ROOT / "target" / "debug" / "attest"))
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea"


LOG_DIR = os.environ.get("ATTEST_TEST_LOG_DIR")


def record_secret(secret):
    """Notes a secret for scripts/check-secrets.py, which proves no log holds it."""
    if LOG_DIR:
        os.makedirs(LOG_DIR, exist_ok=True)
        with open(os.path.join(LOG_DIR, f"secrets-python-{os.getpid()}.txt"), "a") as f:
            f.write(secret + "\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base, db_url):
        self.base = base
        self.host = base.removeprefix("http://")
        self.db_url = db_url

    def call(self, method, path, body=None, cookie=None, headers=None):
        """A plain HTTP call; returns (status, json, set-cookie header or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        if cookie:
            req.add_header("cookie", f"__Host-attest_session={cookie}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read() or b"null"), r.headers.get("set-cookie")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), None

    def login(self, email, password):
        """Signs in; returns the session cookie value (the cookie is Secure, so the standard
        library's cookie jar would not send it over http: it is handled by hand here)."""
        status, body, set_cookie = self.call("POST", "/api/login", {"email": email, "password": password})
        assert status == 200, body
        cookie = set_cookie.split(";")[0].split("=", 1)[1]
        record_secret(cookie)
        return cookie

    def declare(self, cookie, activity="research-operations", irb="IRB-2026-001", phi_level="limited"):
        status, terms, _ = self.call("POST", "/api/declaration", {"activity": activity, "irb": irb, "phi_level": phi_level}, cookie)
        assert status == 200, terms
        status, session, _ = self.call("POST", "/api/declaration/accept", {"terms_hash": terms["terms_hash"]}, cookie)
        assert status == 200, session
        return session

    def new_key(self, cookie):
        status, body, _ = self.call("POST", "/api/session-keys", {}, cookie)
        assert status == 201, body
        record_secret(body["key"])
        return body["key"]


def add_user(db_url, email, role, max_phi):
    password = secrets.token_urlsafe(24)
    record_secret(password)
    subprocess.run(
        [BIN, "--database-url", db_url, "user", "add", "--email", email, "--name", email.split("@")[0],
         "--role", role, "--max-phi", max_phi, "--password-stdin"],
        input=password.encode(), check=True, capture_output=True)
    return password


@pytest.fixture(scope="session")
def server():
    assert (SYNTHEA / "patients.csv").exists(), f"the Synthea extract is expected at {SYNTHEA}"
    tmp = tempfile.mkdtemp(prefix="attest-py-")
    db_url = f"sqlite://{tmp}/attest.db"
    subprocess.run([BIN, "--database-url", db_url, "import", str(SYNTHEA), "--study", "synthea",
                    "--phi-map", str(ROOT / "examples" / "synthea" / "phi.toml")], check=True, capture_output=True)
    admin_pw = add_user(db_url, "admin@py.test", "admin", "restricted")
    port = free_port()
    log = open(os.path.join(LOG_DIR, f"python-server-{os.getpid()}.log"), "w") if LOG_DIR else subprocess.DEVNULL
    env = dict(os.environ, ATTEST_LOG="trace" if LOG_DIR else "warn")
    proc = subprocess.Popen([BIN, "--database-url", db_url, "serve", "--no-demo", "--addr", f"127.0.0.1:{port}", "--data-dir", tmp],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    s = Server(base, db_url)
    admin = s.login("admin@py.test", admin_pw)
    status, body, _ = s.call("PUT", "/api/admin/settings", {"allow_session_keys": True}, admin)
    assert status == 200, body
    yield s
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def researcher(server):
    email = f"r{secrets.token_hex(4)}@py.test"
    password = add_user(server.db_url, email, "researcher", "full")
    cookie = server.login(email, password)
    server.declare(cookie)
    return {"email": email, "cookie": cookie, "key": server.new_key(cookie)}


@pytest.fixture(scope="session")
def patients_csv():
    with open(SYNTHEA / "patients.csv", newline="") as f:
        return list(csv.DictReader(f))
