"""`python -m bench [--quick] [--json FILE]`: the speed targets, each beside its anchor, in one run.

Every figure starts real processes (gunicorn, huey_consumer with the Procfile's flags) on its own temp
DATA_DIR. Prints a table and, with --json, writes one object per key:
  {"ours", "anchor", "ratio", "value", "target", "pass", "unit", "what", "detail"}
where `value` is the number the key names and the one compared with `target` (for *_ratio keys the ratio;
for purge_added_p99_ms the p99 during the purge minus the p99 before it; otherwise ours). `pass` is null
for a figure without a target (purge_1m_s) and false when a figure could not be measured (then `error`).
Exit status: 0 when every figure was measured (whether or not it met its target), 1 otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import figures, load
from bench.figures import FULL, QUICK, Figure

KEYS = ["idle_start_p95_ms", "idle_worker_cpu_pct", "throughput_ratio", "commits_per_job", "http_create_ratio",
        "poll_p99_ratio", "poll_304_p99_ratio", "suggest_10k_s", "purge_1m_s", "purge_added_p99_ms",
        "metrics_scrape_1m_ms", "suggest_100k_s", "suggest_100k_rss_mib", *figures.PEER_KEYS, *figures.E2E_KEYS]
GROUPS = {  # name -> (function, keys it produces)
    "idle": (figures.idle, ["idle_start_p95_ms", "idle_worker_cpu_pct"]),
    "throughput": (figures.throughput, ["throughput_ratio"]),
    "commits": (figures.commits, ["commits_per_job"]),
    "http": (figures.http_create, ["http_create_ratio"]),
    "suggest": (figures.suggest, ["suggest_10k_s", "suggest_100k_s", "suggest_100k_rss_mib"]),
    "peers": (figures.scaleout_and_peers, list(figures.PEER_KEYS)),
    "polls": (figures.polls_and_purge, ["poll_p99_ratio", "poll_304_p99_ratio", "purge_1m_s", "purge_added_p99_ms",
                                         "metrics_scrape_1m_ms"]),
    "e2e": (figures.e2e, list(figures.E2E_KEYS)),
}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load_generator": "wrk" if load.have_wrk() else "python"}


def fmt(x: object) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"
    return str(x)


def table(rows: list[Figure]) -> str:
    header = ("figure", "ours", "anchor", "ratio", "value", "target", "pass")
    lines = [header]
    for f in rows:
        verdict = "ERROR" if f.error else {True: "pass", False: "FAIL", None: "-"}[f.passed]
        lines.append((f.key, fmt(f.ours), fmt(f.anchor), fmt(f.ratio), fmt(f.value), f.target_text(), verdict))
    widths = [max(len(r[i]) for r in lines) for i in range(len(header))]
    out = []
    for n, r in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run well under 2 minutes)")
    parser.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    parser.add_argument("--only", metavar="GROUP", action="append", choices=sorted(GROUPS),
                        help="run only these groups (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temp DATA_DIRs (logs) after the run")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    tmp = Path(tempfile.mkdtemp(prefix="budget-assist-bench-"))
    results: dict[str, Figure] = {}
    started = time.monotonic()
    print(f"bench: {'quick' if args.quick else 'full'} run in {tmp} on {machine()}", flush=True)
    try:
        for name, (fn, keys) in GROUPS.items():
            if args.only and name not in args.only:
                continue
            t = time.monotonic()
            try:
                produced = fn(tmp, sizes)
                for f in produced if isinstance(produced, list) else [produced]:
                    results[f.key] = f
            except Exception as exc:  # a figure that cannot be measured is reported, the others still run
                traceback.print_exc()
                for key in keys:
                    results[key] = Figure(key, "", "", None, error=f"{exc.__class__.__name__}: {exc}"[:500])
            print(f"bench: {name} done in {time.monotonic() - t:.0f} s", flush=True)
    finally:
        if args.keep:
            print(f"bench: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    rows = [results[k] for k in KEYS if k in results]
    print()
    print(table(rows))
    print(f"\nbench: {time.monotonic() - started:.0f} s in all")
    if args.json:
        doc = {f.key: f.as_json() for f in rows}
        for f in rows:
            if f.error:
                doc[f.key]["pass"] = False
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n")
        meta = {"machine": machine(), "quick": args.quick, "seconds": round(time.monotonic() - started)}
        path.with_suffix(".meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    missing = [k for k in KEYS if k not in results]
    if missing and not args.only:
        print(f"bench: no figure for {', '.join(missing)}", file=sys.stderr)
    return 1 if any(f.error for f in rows) or (missing and not args.only) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
