"""`make bench` / `python -m bench.run [--quick] [--only NAME]`: run the benchmarks, print a table, write results.json.
`make bench-history` / `--only history`: the long-history benchmark alone (`make bench` runs it last).

Each benchmark module has `run(quick: bool) -> list[dict]` (dicts made by bench.harness). With --only, the
other benchmarks' earlier results in results.json are kept, so the file always holds the latest of each.
"""

import argparse
import datetime
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

BENCHMARKS = ["affiliate_sync", "fanout", "consent_writes", "portal_pages", "consent_log", "webhooks", "history"]
# What `make bench` runs without --only: all of them. The long-history benchmark (issue #20, goal 4) took 23 minutes
# at full size on 2 cores (2026-12-07) and needs ~25 GB of disk; `make bench-history` runs it alone (bench/README.md).
DEFAULT = BENCHMARKS
RESULTS = Path(__file__).with_name("results.json")
ROOT = Path(__file__).resolve().parents[1]


def _machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model or platform.processor(), "python": platform.python_version(),
            "platform": platform.platform()}


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def table(results: list[dict]) -> str:
    header = ["benchmark", "result", "n", "value", "unit", "theirs", "ratio", "target", "met"]
    rows = [header]
    for r in results:
        rows.append([r.get("benchmark", ""), r["name"], _fmt(r.get("n", "")), _fmt(r["value"]), r.get("unit", ""),
                     _fmt(r["theirs"]) if "theirs" in r else "", _fmt(r["ratio"]) if "ratio" in r else "",
                     r.get("target", ""), {True: "yes", False: "NO"}.get(r.get("met"), "")])
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller N, fewer repetitions (a smoke run)")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    names = args.only or DEFAULT
    benchmarks = {}
    failed = False
    for name in names:
        print(f"== {name} ({'quick' if args.quick else 'full'})", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            results = module.run(quick=args.quick)
            error = None
        except Exception:  # one broken benchmark must not lose the others' numbers
            traceback.print_exc()
            results, error, failed = [], traceback.format_exc(limit=5), True
        for r in results:
            r["benchmark"] = name
        benchmarks[name] = {"quick": args.quick, "seconds": round(time.perf_counter() - started, 1),
                            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                            "results": results, **({"error": error} if error else {})}
        print(table(results) if results else "(no results)", flush=True)
    if args.only:  # keep the others' latest results; read now, not at the start, as another run may have written since
        previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        benchmarks = {**previous.get("benchmarks", {}), **benchmarks}
    report = {"date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "machine": _machine(),
              "commit": _commit(), "benchmarks": {k: benchmarks[k] for k in BENCHMARKS if k in benchmarks}}
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    every = [r for b in report["benchmarks"].values() for r in b["results"]]
    print("\n" + table(every))
    print(f"\nwritten {RESULTS.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
