#!/usr/bin/env bash
# Builds the site (wasm + JS glue + CSS) and the server with plain cargo and wasm-bindgen-cli.
# Usage: scripts/build.sh [debug|release]
# (cargo-leptos works too, `cargo leptos build`, but takes 15 minutes to install; this does not
# need it.)
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-debug}
NAME=attest                                  # LEPTOS_OUTPUT_NAME, also set in .cargo/config.toml
SITE=${LEPTOS_SITE_ROOT:-target/site}
export LEPTOS_OUTPUT_NAME=$NAME
export PATH="$PWD/node_modules/.bin:$PATH"   # wasm-opt from npm binaryen (Debian's 108 breaks hydration)

if [ "$MODE" = release ]; then
  cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
  WASM=target/wasm32-unknown-unknown/wasm-release/frontend.wasm
  cargo build -p attest --release
else
  cargo build -p frontend --lib --target wasm32-unknown-unknown
  WASM=target/wasm32-unknown-unknown/debug/frontend.wasm
  cargo build -p attest
fi

rm -rf "$SITE"; mkdir -p "$SITE/pkg"
cp -r public/. "$SITE/"
wasm-bindgen --target web --no-typescript --out-dir "$SITE/pkg" --out-name "$NAME" "$WASM"
mv "$SITE/pkg/${NAME}_bg.wasm" "$SITE/pkg/$NAME.wasm"   # leptos' HydrationScripts loads /pkg/<name>.wasm
if [ "$MODE" = release ]; then
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$SITE/pkg/$NAME.wasm" -o "$SITE/pkg/$NAME.wasm"
fi
cp style/main.css "$SITE/pkg/$NAME.css"
echo "built $MODE: target/$([ "$MODE" = release ] && echo release || echo debug)/attest and $SITE/pkg ($(du -k "$SITE/pkg/$NAME.wasm" | cut -f1) KiB wasm)"
