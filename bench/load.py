"""HTTP load from a second process: wrk (Debian's package) when it is on PATH, else a Python client.

- `throughput(...)`: req/s of a POST with a fresh budget id per request (`{"budgetId": "<prefix><n>"}`).
- `latency(...)`: p50/p99 of GETs over a list of targets (path and optional If-None-Match), one connection.
- `python -m bench.load latency-until FILE STOPFILE BASE`: the Python latency client, running until STOPFILE
  exists, printing every latency (used during the purge).
"""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent

POST_LUA = r"""
local counter = 0
local modulo = tonumber(os.getenv("BENCH_BUDGETS") or "100000")
local prefix = os.getenv("BENCH_PREFIX") or "b"
local path = os.getenv("BENCH_PATH")
local headers = {["Content-Type"] = "application/json"}
local threads = {}
function setup(thread) table.insert(threads, thread) end
request = function()
  counter = counter + 1
  local body = '{"budgetId":"' .. prefix .. ((counter - 1) % modulo) .. '"}'
  return wrk.format("POST", path, headers, body)
end
"""

GET_LUA = r"""
local targets = {}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  for line in io.lines(os.getenv("BENCH_TARGETS")) do
    local path, etag = line:match("^([^\t]*)\t?(.*)$")
    table.insert(targets, {path, etag})
  end
  math.randomseed(tonumber(os.getenv("BENCH_SEED") or "1"))
  s200 = 0; s304 = 0; other = 0
end
request = function()
  local t = targets[math.random(#targets)]
  local headers = {}
  if t[2] ~= "" then headers["If-None-Match"] = t[2] end
  return wrk.format("GET", t[1], headers)
end
response = function(status, headers, body)
  if status == 200 then s200 = s200 + 1 elseif status == 304 then s304 = s304 + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do a = a + t:get("s200"); b = b + t:get("s304"); c = c + t:get("other") end
  io.write(string.format("BENCH p50=%d p99=%d n=%d s200=%d s304=%d other=%d\n",
    latency:percentile(50), latency:percentile(99), summary.requests, a, b, c))
end
"""


def have_wrk() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def _run_wrk(base: str, script: str, env: dict[str, str], duration: float, connections: int,
             threads: int = 1) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
                              "--latency", "-s", path, base], env={**os.environ, **env},
                             capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr or out.stdout}")
    return out.stdout


def throughput(base: str, path: str, duration: float, *, connections: int = 8, budgets: int = 100_000,
               prefix: str = "b") -> dict:
    """POST req/s with bodies {"budgetId": prefix + n}; returns {"rps", "requests", "errors", "tool"}."""
    env = {"BENCH_PATH": path, "BENCH_BUDGETS": str(budgets), "BENCH_PREFIX": prefix}
    if have_wrk():
        out = _run_wrk(base, POST_LUA, env, duration, connections)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        errors = (int(m.group(1)) if m else 0) + (sum(int(x) for x in errs.groups()) if errs else 0)
        return {"rps": rps, "requests": requests, "errors": errors, "tool": "wrk"}
    return _python_throughput(base, path, duration, connections, budgets, prefix)


def latency(base: str, targets: list[tuple[str, str]], duration: float, *, connections: int = 1) -> dict:
    """GET latency over random targets; returns {"p50_ms", "p99_ms", "requests", "s200", "s304", "other", "tool"}."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        f.writelines(f"{p}\t{e}\n" for p, e in targets)
        target_file = f.name
    try:
        if have_wrk():
            out = _run_wrk(base, GET_LUA, {"BENCH_TARGETS": target_file}, duration, connections)
            m = re.search(r"BENCH p50=(\d+) p99=(\d+) n=(\d+) s200=(\d+) s304=(\d+) other=(\d+)", out)
            p50, p99, n, s200, s304, other = (int(x) for x in m.groups())
            return {"p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "requests": n, "s200": s200, "s304": s304,
                    "other": other, "tool": "wrk"}
        out = subprocess.run([sys.executable, "-m", "bench.load", "latency", target_file, base, str(duration)],
                             capture_output=True, text=True, check=True, cwd=HERE.parent)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(target_file)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


# ---------------------------------------------------------------- the Python client (second process)
def _client_loop(base: str, targets: list[tuple[str, str]], stop: "callable",
                 pace: float = 0.0, starts: Optional[list[float]] = None,
                 paths: Optional[list[str]] = None) -> tuple[list[float], dict]:
    """Sequential GETs until stop(): their latencies (ms) and status counts; `starts` and `paths` get each one's
    wall time and path."""
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    rng = random.Random(1)
    latencies: list[float] = []
    counts = {"s200": 0, "s304": 0, "other": 0}
    while not stop():
        path, etag = targets[rng.randrange(len(targets))]
        headers = {"If-None-Match": etag} if etag else {}
        t = time.perf_counter()
        if starts is not None:
            starts.append(time.time())
        if paths is not None:
            paths.append(path)
        try:
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            r.read()
            status = r.status
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            status = 0
        latencies.append((time.perf_counter() - t) * 1000)
        counts["s200" if status == 200 else "s304" if status == 304 else "other"] += 1
        if pace:
            time.sleep(pace)
    return latencies, counts


def _read_targets(path: str) -> list[tuple[str, str]]:
    rows = []
    for line in Path(path).read_text().splitlines():
        p, _, e = line.partition("\t")
        rows.append((p, e))
    return rows


def start_latency_until(base: str, targets: list[tuple[str, str]], workdir: Path,
                        pace: float = 0.0) -> tuple[subprocess.Popen, Path, Path]:
    """Start the Python latency client until a stop file appears; returns (process, stop file, output file).

    `pace`: seconds between requests (0: back to back; a page polling its jobs waits between requests).
    """
    target_file, stop_file, out_file = workdir / "targets.tsv", workdir / "stop", workdir / "latencies.json"
    target_file.write_text("".join(f"{p}\t{e}\n" for p, e in targets))
    stop_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "bench.load", "latency-until", str(target_file), str(stop_file),
                             base, str(out_file), str(pace)], cwd=HERE.parent)
    return proc, stop_file, out_file


@contextlib.contextmanager
def latencies_while(base: str, targets: list[tuple[str, str]], workdir: Path, pace: float = 0.0) -> Iterator[dict]:
    """Poll `targets` from a second process while the block runs; the yielded dict holds its result afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    client, stop_file, out_file = start_latency_until(base, targets, workdir, pace)
    result: dict = {}
    try:
        yield result
    finally:
        stop_file.touch()
        client.wait(60)
    result.update(json.loads(out_file.read_text()))


def _python_throughput(base: str, path: str, duration: float, connections: int, budgets: int, prefix: str) -> dict:
    procs = [subprocess.Popen([sys.executable, "-m", "bench.load", "post", base, path, str(duration), str(i),
                               str(connections), str(budgets), prefix], stdout=subprocess.PIPE, text=True,
                              cwd=HERE.parent) for i in range(connections)]
    total = errors = 0
    for p in procs:
        out, _ = p.communicate(timeout=duration + 60)
        n, e = json.loads(out.strip().splitlines()[-1])
        total += n
        errors += e
    return {"rps": total / duration, "requests": total, "errors": errors, "tool": "python"}


def _post_loop(base: str, path: str, duration: float, index: int, stride: int, budgets: int, prefix: str) -> tuple[int, int]:
    url = urlparse(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    n = errors = 0
    counter = index
    deadline = time.perf_counter() + duration
    while time.perf_counter() < deadline:
        body = json.dumps({"budgetId": f"{prefix}{counter % budgets}"})
        counter += stride
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status >= 400:
                errors += 1
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            errors += 1
        n += 1
    return n, errors


def main(argv: list[str]) -> None:
    cmd = argv[0]
    if cmd == "latency":  # latency TARGETS BASE DURATION
        targets, base, duration = _read_targets(argv[1]), argv[2], float(argv[3])
        deadline = time.perf_counter() + duration
        lat, counts = _client_loop(base, targets, lambda: time.perf_counter() > deadline)
        print(json.dumps({"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "requests": len(lat),
                          **counts, "tool": "python"}))
    elif cmd == "latency-until":  # latency-until TARGETS STOPFILE BASE OUT [PACE]
        targets, stop_file, base, out = _read_targets(argv[1]), Path(argv[2]), argv[3], Path(argv[4])
        pace = float(argv[5]) if len(argv) > 5 else 0.0
        checks = [0]

        def stop() -> bool:
            checks[0] += 1
            return checks[0] % 20 == 0 and stop_file.exists()

        starts: list[float] = []
        paths: list[str] = []
        lat, counts = _client_loop(base, targets, stop, pace, starts, paths)
        out.write_text(json.dumps({"latencies_ms": lat, "started_at": starts, "paths": paths, **counts}))
    elif cmd == "post":  # post BASE PATH DURATION INDEX STRIDE BUDGETS PREFIX
        n, e = _post_loop(argv[1], argv[2], float(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]), argv[7])
        print(json.dumps([n, e]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
