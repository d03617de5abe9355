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
# Split the wasm at the #[lazy] / #[lazy_route] functions (app/src/routes.rs) into the main
# module and chunks loaded on demand, as `cargo leptos build --split` does. The hydrate build
# always imports the split loader, so debug is split too. frontend/build.rs links the wasm with
# --emit-relocs, which the splitter needs.
#   pkg/attest.wasm                     main module (after wasm-bindgen)
#   pkg/split_<route>.wasm, chunk_N.wasm  one per lazy function, and code they share
#   pkg/__wasm_split.<22 _>.js          loader the main module imports (name Leptos expects)
#   pkg/__wasm_split_manifest.json      chunks per lazy function: <HydrationScripts> preloads them
command -v wasm-split-cli >/dev/null || { echo "wasm-split-cli is missing: run scripts/setup.sh" >&2; exit 1; }
SPLIT_DIR=target/wasm-split/$MODE
rm -rf "$SPLIT_DIR"; mkdir -p "$SPLIT_DIR"
wasm-split-cli --target web --out-name "$NAME" "$WASM" "$SPLIT_DIR"
mv "$SPLIT_DIR/$NAME.wasm" "$SPLIT_DIR/${NAME}_split.wasm"
LINK_JS=__wasm_split.______________________.js   # leptos' HydrationScripts default (no hash-files)
mv "$SPLIT_DIR/__wasm_split.js" "$SITE/pkg/$LINK_JS"
for f in "$SPLIT_DIR"/*.wasm; do   # the chunks
  [ "$f" = "$SPLIT_DIR/${NAME}_split.wasm" ] || mv "$f" "$SITE/pkg/"
done
node scripts/wasm-split-manifest.mjs "$SITE/pkg/$LINK_JS" "$SITE/pkg/__wasm_split_manifest.json"
# --keep-lld-exports: the chunks import the main module's functions, table and memory by their
# linker names.
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-dir "$SITE/pkg" --out-name "$NAME" "$SPLIT_DIR/${NAME}_split.wasm"
mv "$SITE/pkg/${NAME}_bg.wasm" "$SITE/pkg/$NAME.wasm"   # leptos' HydrationScripts loads /pkg/<name>.wasm
# The splitter named the loader ./__wasm_split.js; the JS glue must import it under the name
# Leptos preloads (one module instance, not two). Only the `import` lines: the same string is
# also the key of the wasm's import object, which must keep the name compiled into the wasm.
grep -q "^import .* from [\"']\./__wasm_split\.js[\"']" "$SITE/pkg/$NAME.js" || { echo "$NAME.js does not import ./__wasm_split.js" >&2; exit 1; }
sed -i "/^import /s#\([\"']\)\./__wasm_split\.js\([\"']\)#\1./$LINK_JS\2#" "$SITE/pkg/$NAME.js"
if [ "$MODE" = release ]; then
  # The main module has to stay under 300 kB gzipped. Beyond -Oz: --converge (~0.6 kB);
  # --low-memory-unused (~1.7 kB) lets wasm-opt fold pointer offsets assuming nothing lives in the
  # lowest 1 KiB of memory: rustc links wasm32 with --stack-first, so that is the far end of the
  # 1 MiB stack, reached only by a stack overflow; the strips drop sections browsers ignore.
  for w in "$SITE"/pkg/*.wasm; do
    wasm-opt -Oz --converge --low-memory-unused --strip-producers --strip-target-features \
      --enable-bulk-memory --enable-nontrapping-float-to-int "$w" -o "$w"
  done
fi
cp style/main.css "$SITE/pkg/$NAME.css"
echo "built $MODE: target/$([ "$MODE" = release ] && echo release || echo debug)/attest and $SITE/pkg ($(du -k "$SITE/pkg/$NAME.wasm" | cut -f1) KiB main wasm, $(ls "$SITE"/pkg/*.wasm | wc -l) wasm files)"
