"""Multiplies the Synthea extract to N encounters: copies of patients and their encounters with
fresh ids (the same shapes, values and PHI), for the scale test."""
import csv
import os
import sys
import uuid

src, dst, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst, exist_ok=True)
with open(os.path.join(src, "encounters.csv"), newline="") as f:
    enc = list(csv.reader(f))
with open(os.path.join(src, "patients.csv"), newline="") as f:
    pat = list(csv.reader(f))
copies = -(-target // (len(enc) - 1))
ns = uuid.UUID("7a1e6c1e-3b5f-4f1c-9a2e-5d3c1b2a4e6f")
fresh = lambda k, v: str(uuid.uuid5(ns, f"{k}:{v}"))
written = 0
with open(os.path.join(dst, "encounters.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(enc[0])
    for k in range(copies):
        for row in enc[1:]:
            if written == target:
                break
            r = list(row)
            r[0] = fresh(k, r[0])      # Id
            r[3] = fresh(k, r[3])      # PATIENT
            w.writerow(r)
            written += 1
with open(os.path.join(dst, "patients.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(pat[0])
    for k in range(copies):
        for row in pat[1:]:
            r = list(row)
            r[0] = fresh(k, r[0])
            w.writerow(r)
print(written, "encounters,", copies * (len(pat) - 1), "patients")
