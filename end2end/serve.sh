#!/usr/bin/env bash
# Starts Attest for the browser tests on a fresh database: the Synthea extract imported as study
# "synthea", one user per role with known passwords (written to target/e2e/users.json), session
# keys allowed. Run from end2end/ by Playwright's webServer.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${SERVER_BIN:-./target/debug/attest}
DIR=target/e2e
rm -rf "$DIR"; mkdir -p "$DIR"
export ATTEST_DATABASE_URL="sqlite://$DIR/attest.db"
"$BIN" import ../shared/data/synthea --study synthea --phi-map examples/synthea/phi.toml > "$DIR/import.log"
pw() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }
ADMIN_PW=$(pw); RESEARCHER_PW=$(pw); AUDITOR_PW=$(pw)
printf '%s' "$ADMIN_PW" | "$BIN" user add --email admin@e2e.test --name "E2E Admin" --role admin --max-phi restricted --password-stdin > /dev/null
printf '%s' "$RESEARCHER_PW" | "$BIN" user add --email researcher@e2e.test --name "E2E Researcher" --role researcher --max-phi full --password-stdin > /dev/null
printf '%s' "$AUDITOR_PW" | "$BIN" user add --email auditor@e2e.test --name "E2E Auditor" --role auditor --max-phi not-phi --password-stdin > /dev/null
cat > "$DIR/users.json" <<JSON
{"admin": {"email": "admin@e2e.test", "password": "$ADMIN_PW"},
 "researcher": {"email": "researcher@e2e.test", "password": "$RESEARCHER_PW"},
 "auditor": {"email": "auditor@e2e.test", "password": "$AUDITOR_PW"}}
JSON
if [ -n "${ATTEST_TEST_LOG_DIR:-}" ]; then
  # trace-level logs, and the passwords they must not contain (scripts/check-secrets.py)
  mkdir -p "$ATTEST_TEST_LOG_DIR"
  printf '%s\n%s\n%s\n' "$ADMIN_PW" "$RESEARCHER_PW" "$AUDITOR_PW" >> "$ATTEST_TEST_LOG_DIR/secrets-e2e.txt"
  ATTEST_LOG=trace exec "$BIN" serve --no-demo --addr 127.0.0.1:3999 --data-dir "$DIR" 2> "$ATTEST_TEST_LOG_DIR/e2e-server.log"
fi
exec "$BIN" serve --no-demo --addr 127.0.0.1:3999 --data-dir "$DIR"
