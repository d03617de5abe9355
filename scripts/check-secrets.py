#!/usr/bin/env python3
"""Proves that no secret reached a log: every password, session id and session key the tests
handled (noted in ATTEST_TEST_LOG_DIR/secrets-*.txt) is searched for in every log and output
file there (the servers ran at trace level). Exit 1 on any hit; the hit is named by the
secret's SHA-256 prefix, never by the secret."""

import glob
import hashlib
import os
import sys

log_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ATTEST_TEST_LOG_DIR", "target/test-logs")
secrets = set()
for path in glob.glob(os.path.join(log_dir, "secrets-*.txt")):
    with open(path) as f:
        secrets.update(line.strip() for line in f if len(line.strip()) >= 12)
logs = [p for p in glob.glob(os.path.join(log_dir, "*")) if not os.path.basename(p).startswith("secrets-") and os.path.isfile(p)]
if not secrets or not logs:
    print(f"check-secrets: nothing to check in {log_dir} ({len(secrets)} secrets, {len(logs)} logs)")
    sys.exit(1)
hits = 0
size = 0
for path in logs:
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    size += len(data)
    for s in secrets:
        if s in data:
            hits += 1
            print(f"SECRET IN LOG: sha256 {hashlib.sha256(s.encode()).hexdigest()[:12]} found in {path}")
print(f"check-secrets: {len(secrets)} secrets searched in {len(logs)} files ({size / 1e6:.1f} MB of trace-level logs): {hits} found")
sys.exit(1 if hits else 0)
