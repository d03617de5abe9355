"""One line of results from wrk's --latency output: name, connections, requests/s, p50, p99 (ms), errors."""
import re
import sys

name, conns, path = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()


def ms(label):
    m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v


rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors:.*", text)
bad = int(non2xx.group(1)) if non2xx else 0
print(f"{name}\t{conns}\t{rps:.0f}\t{ms('50'):.2f}\t{ms('99'):.2f}\t{bad}\t{errors.group(0) if errors else ''}")
