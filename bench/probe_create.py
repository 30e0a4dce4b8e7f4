"""`python -m bench.probe_create N`: create N bench_noop jobs in this process (each enqueues its task)."""
from __future__ import annotations

import sys

from tasks import process


def main(n: int) -> None:
    """Create n jobs through JobService, one budget id per job (no deduplication)."""
    jobs = process.services().jobs
    for i in range(n):
        jobs.create("bench_noop", f"tp{i}")


if __name__ == "__main__":
    main(int(sys.argv[1]))
