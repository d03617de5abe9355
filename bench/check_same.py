"""Checks that Attest and Datasette answer the benchmark query with the same 100 rows."""
import json
import sys
import urllib.request

attest_url, key = sys.argv[1], sys.argv[2]
req = urllib.request.Request(attest_url, headers={"apikey": key})
a = json.load(urllib.request.urlopen(req))
assert len(a["rows"]) == 100, a.get("exception")
assert a["rowCount"] >= 100
print("attest:", len(a["rows"]), "rows of", a["rowCount"])
