// Writes the prefetch manifest of a split wasm (pkg/__wasm_split_manifest.json), which Leptos'
// <HydrationScripts> reads at run time to preload the chunks of the lazy routes a page renders.
// cargo-leptos gets this map from wasm_split_cli_support::transform; wasm-split-cli does not
// write it, so it is read back from the loader module the splitter generated:
//   const __chunk_N = makeLoad(<fetch of "./chunk_N.wasm", or none if empty>, []);
//   export const __wasm_split_load_NAME = wrapAsyncCb(makeLoad(<fetch of "./split_NAME.wasm">, [__chunk_A, ...]));
// The manifest maps NAME to the wasm files (without .wasm) it needs: its shared chunks, then its own.
// Usage: node scripts/wasm-split-manifest.mjs <pkg>/__wasm_split.js <pkg>/__wasm_split_manifest.json
import { readFileSync, writeFileSync } from 'node:fs';

const [loaderPath, outPath] = process.argv.slice(2);
const js = readFileSync(loaderPath, 'utf8');
const wasmFile = (fetcher) => (fetcher.match(/"\.\/([A-Za-z0-9_]+)\.wasm"/) || [])[1];

const chunks = new Map();
for (const m of js.matchAll(/^const (__chunk_\d+) = makeLoad\(([\s\S]*?), \[\]\);$/gm)) {
  chunks.set(m[1], wasmFile(m[2]));
}
const manifest = {};
for (const m of js.matchAll(/^export const __wasm_split_load_(\w+) = wrapAsyncCb\(makeLoad\(([\s\S]*?), \[([^\]]*)\]\)\);$/gm)) {
  const deps = m[3].split(',').map((s) => s.trim()).filter(Boolean);
  for (const d of deps) if (!chunks.has(d)) throw new Error(`${loaderPath}: unknown chunk ${d}`);
  manifest[m[1]] = [...deps.map((d) => chunks.get(d)), wasmFile(m[2])].filter(Boolean);
}
if (Object.keys(manifest).length === 0) throw new Error(`${loaderPath}: no split loaders found`);
writeFileSync(outPath, JSON.stringify(manifest));
console.log(`${outPath}: ${Object.keys(manifest).length} splits, ${chunks.size} shared chunks`);
