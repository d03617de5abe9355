"""Turns keys on (as the admin), signs the researcher in, declares Restricted PHI, accepts the
terms and prints a session key."""
import json
import sys
import urllib.request

base, admin, admin_pw, user, user_pw = sys.argv[1:6]


def call(method, path, body=None, cookie=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, method=method)
    req.add_header("content-type", "application/json")
    if cookie:
        req.add_header("cookie", cookie)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null"), r.headers.get("set-cookie")


def login(email, pw):
    _, c = call("POST", "/api/login", {"email": email, "password": pw})
    return c.split(";")[0]


a = login(admin, admin_pw)
call("PUT", "/api/admin/settings", {"allow_session_keys": True, "idle_timeout_mins": 240}, a)
c = login(user, user_pw)
terms, _ = call("POST", "/api/declaration", {"activity": "research-operations", "irb": "IRB-BENCH", "phi_level": "restricted"}, c)
call("POST", "/api/declaration/accept", {"terms_hash": terms["terms_hash"]}, c)
key, _ = call("POST", "/api/session-keys", {}, c)
print(key["key"])
