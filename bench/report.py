"""The benchmark table and the targets, from bench/out."""
import json
import os
import sys

out = sys.argv[1]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "results.tsv")) if l.strip()]
r = {(x[0], int(x[1])): x for x in rows}
print("| server | connections | requests/s | p50 ms | p99 ms | non-2xx |")
print("|---|---:|---:|---:|---:|---:|")
for x in rows:
    print(f"| {x[0]} | {x[1]} | {x[2]} | {x[3]} | {x[4]} | {x[5]} |")
print()


def rps(name, c):
    return float(r[(name, c)][2]) if (name, c) in r else float("nan")


checks = []
for c in (16, 64):
    ratio = rps("attest-audit", c) / rps("attest-noop", c)
    checks.append((f"audit on / no-op sink at {c} connections", f"{ratio:.2f}", ">= 0.8", ratio >= 0.8))
ratio = rps("attest-audit", 16) / rps("datasette", 16)
checks.append(("Attest (audit on) / Datasette at 16 connections", f"{ratio:.1f}x", ">= 10x", ratio >= 10))
p99 = float(r[("attest-audit", 16)][4])
checks.append(("p99 of Attest at 16 connections", f"{p99:.1f} ms", "< 25 ms", p99 < 25))
if ("scale-grid", 1) in r:
    p50 = float(r[("scale-grid", 1)][3])
    checks.append(("1M encounters: filtered, sorted page, p50", f"{p50:.1f} ms", "< 50 ms", p50 < 50))
mem_path = os.path.join(out, "memory.txt")
if os.path.exists(mem_path):
    m = json.loads(open(mem_path).read())
    checks.append(("RSS with 10,000 sessions x 3 keys", f"{m['rss_mb_after']} MB ({m['keys_answering_200']} keys used)", "< 150 MB", m["rss_mb_after"] < 150))
fp = json.loads(open(os.path.join(out, "first-page.txt")).read())
# wasm-gzip.tsv: one line per wasm file of the site, "path<TAB>gzip -9 bytes"
sizes = dict(l.rstrip("\n").split("\t") for l in open(os.path.join(out, "wasm-gzip.tsv")) if l.strip())
sizes = {k: int(v) for k, v in sizes.items()}
first = sum(sizes[f] for f in fp["wasm_fetched"])
total = sum(sizes.values())
checks.append((f"release wasm the first page loads ({', '.join(fp['wasm_fetched'])}), gzip -9", f"{first / 1000:.0f} KB", "<= 300 KB", first <= 300_000))
checks.append((f"all release wasm of the site ({len(sizes)} files), gzip -9", f"{total / 1000:.0f} KB", "(no target)", None))
checks.append(("first page rendered and hydrated (median of 7)", f"{fp['median_ms']} ms", "< 1500 ms", fp["median_ms"] < 1500))
print("| target | measured | wanted | met |")
print("|---|---|---|---|")
for name, got, want, ok in checks:
    print(f"| {name} | {got} | {want} | {'-' if ok is None else 'yes' if ok else 'NO'} |")
