#!/usr/bin/env python3
"""The balance scenario's acceptance, from its results.json: per mode, the slowest run reaches
at least 0.85x the median throughput, and every run's web worker shares lie within 35-65%
(two workers). Prints a line per mode; exits 1 when either fails.

    python3 .ci/balance_check.py reports/balance-*/results.json
"""

import json
import statistics
import sys


def main(path):
    doc = json.load(open(path))
    ok = True
    by_mode = {}
    for run in doc["runs"]:
        if run.get("failure"):
            print(f"{run['label']} #{run['repetition']} failed: {run['failure']}")
            ok = False
            continue
        by_mode.setdefault(run["label"], []).append(run)
    for label, runs in by_mode.items():
        rps = [r["throughput_rps"] for r in runs]
        median = statistics.median(rps)
        shares = [
            s["share"] for r in runs for s in (r.get("workers") or {}).get("shares", [])
        ]
        counted = [len((r.get("workers") or {}).get("shares", [])) for r in runs]
        low_ok = min(rps) >= 0.85 * median
        shares_ok = all(n == 2 for n in counted) and all(0.35 <= s <= 0.65 for s in shares)
        ok = ok and low_ok and shares_ok
        print(
            f"{label:<16} runs {len(runs)}  req/s min {min(rps):.0f} median {median:.0f} "
            f"max {max(rps):.0f} (min/median {min(rps) / median:.2f} {'ok' if low_ok else 'FAIL'})  "
            f"worker shares {min(shares, default=0):.1%}..{max(shares, default=0):.1%} "
            f"({'ok' if shares_ok else 'FAIL'})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
