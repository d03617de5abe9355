"""Of several rounds (lines of parse_wrk.py), the median round by requests/s of each server and
connection count, in the order first seen; the whole line of that round (its p50 and p99 too)."""
import sys

rounds = {}
for line in open(sys.argv[1]):
    if line.strip():
        f = line.rstrip("\n").split("\t")
        rounds.setdefault((f[0], f[1]), []).append(f)
for runs in rounds.values():
    runs.sort(key=lambda f: float(f[2]))
    print("\t".join(runs[len(runs) // 2] + [f"median of {len(runs)} rounds: " + ", ".join(f[2] for f in runs)]))
