"""The patients table for Datasette: the same CSV, the same column names, in a SQLite file."""
import csv
import sqlite3
import sys

src, dst = sys.argv[1], sys.argv[2]
with open(src, newline="") as f:
    rows = list(csv.reader(f))
con = sqlite3.connect(dst)
con.execute("DROP TABLE IF EXISTS patients")
con.execute("CREATE TABLE patients (" + ", ".join(f'"{h}" TEXT' for h in rows[0]) + ")")
con.executemany("INSERT INTO patients VALUES (" + ", ".join("?" for _ in rows[0]) + ")", [[v or None for v in r] for r in rows[1:]])
con.commit()
print(len(rows) - 1, "patients")
