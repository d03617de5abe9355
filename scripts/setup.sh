#!/usr/bin/env bash
# Installs what building (and, with "test", testing) Attest needs, skipping what is there.
# Usage: scripts/setup.sh [build|test|bench]
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-build}
WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen crate version pinned in Cargo.toml
# wasm-split-cli (scripts/build.sh splits the wasm per lazy route with it): the release that
# goes with the wasm_split_helpers 0.2.3 Leptos 0.8 uses (cargo-leptos 0.3.10 requires ^0.2.3)
WASM_SPLIT_VERSION=0.2.3

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_needed=()
[ "$WHAT" = build ] || { command -v chromium >/dev/null || apt_needed+=(chromium); }
[ "$WHAT" = bench ] && { command -v wrk >/dev/null || apt_needed+=(wrk); }
if [ "$WHAT" != build ]; then
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_needed+=(python3-venv)
  [ "$WHAT" = test ] && { command -v pg_isready >/dev/null || apt_needed+=(postgresql-client); }
fi
if [ ${#apt_needed[@]} -gt 0 ]; then
  say "apt-get install ${apt_needed[*]}"
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${apt_needed[@]}"
fi

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # not --locked: the registry mirror here lacks a locked dependency (webpki-roots 1.0.11)
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
# (wasm-split-cli has no --version: ask cargo which version it installed)
if ! { command -v wasm-split-cli >/dev/null && cargo install --list | grep -q "^wasm_split_cli_support v$WASM_SPLIT_VERSION:"; }; then
  say "cargo install wasm_split_cli_support $WASM_SPLIT_VERSION (wasm-split-cli; about 2.5 minutes)"
  cargo install --locked wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --features build-binary
fi
if [ ! -x node_modules/.bin/wasm-opt ]; then
  say "npm ci (binaryen for wasm-opt)"
  npm ci --no-audit --no-fund --silent
fi

if [ "$WHAT" != build ]; then
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    say "npm ci in end2end/ (Playwright; it drives Debian's chromium, it downloads no browser)"
    (cd end2end && npm ci --no-audit --no-fund --silent)
  fi
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import labkey, pytest' 2>/dev/null; then
    say "python venv .venv with the official labkey client"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r tests/python/requirements.txt
  fi
  if [ "$WHAT" = test ] && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    command -v pg_ctlcluster >/dev/null && as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432 (trust auth, user postgres): the PostgreSQL tests need it" >&2; exit 1; }
  fi
fi
