"""10,000 live sessions with 3 session keys each: written straight into the database (as
sign-ins would leave them, with hashed ids and keys), every key then used once over HTTP, and
the server's resident memory read from /proc."""
import base64
import hashlib
import json
import os
import sqlite3
import sys
import time
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor

db, base, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
ALPHA = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def b62(data, width):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = ALPHA[r] + out
    return out.rjust(width, "0")


def new_key():
    body = b62(os.urandom(32), 43)
    return "attest_sk_" + body + b62(zlib.crc32(body.encode()).to_bytes(4, "big"), 6)


def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


con = sqlite3.connect(db)
user_id, decl = con.execute(
    "SELECT u.id, d.id FROM users u JOIN declarations d ON d.user_id = u.id WHERE u.email = 'r@bench.test' AND d.accepted_at IS NOT NULL ORDER BY d.id DESC LIMIT 1"
).fetchone()
d = con.execute("SELECT activity, irb, phi_level, terms_text, terms_hash, terms_version FROM declarations WHERE id = ?", (decl,)).fetchone()
now = int(time.time() * 1000)
before = rss_mb()
keys = []
for _ in range(10_000):
    sid = hashlib.sha256(os.urandom(32)).hexdigest()
    con.execute("INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, client_ip) VALUES (?, ?, ?, ?, '127.0.0.1')", (sid, user_id, now, now))
    cur = con.execute(
        "INSERT INTO declarations (session_hash, user_id, activity, irb, phi_level, terms_text, terms_hash, terms_version, created_at, accepted_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (sid, user_id, *d, now, now))
    con.execute("UPDATE sessions SET declaration_id = ? WHERE id_hash = ?", (cur.lastrowid, sid))
    for _ in range(3):
        k = new_key()
        keys.append(k)
        con.execute("INSERT INTO session_keys (id, key_hash, session_hash, created_at) VALUES (?, ?, ?, ?)",
                    (base64.b32encode(os.urandom(5)).decode(), hashlib.sha256(k.encode()).hexdigest(), sid, now))
con.commit()


def use(k):
    req = urllib.request.Request(base + "/synthea/login-whoami.api", headers={"apikey": k})
    with urllib.request.urlopen(req) as r:
        return r.status


started = time.time()
with ThreadPoolExecutor(16) as pool:
    statuses = list(pool.map(use, keys))
ok = sum(1 for s in statuses if s == 200)
after = rss_mb()
print(json.dumps({"sessions": 10_000, "keys": len(keys), "keys_answering_200": ok, "requests_per_s": round(len(keys) / (time.time() - started)),
                  "rss_mb_before": round(before, 1), "rss_mb_after": round(after, 1)}))
