"""`python -m bench.probe_actual_floor URL TOKEN FILE_ID DIR`: actualpy alone downloads the file and reads every transaction.

The floor of a cold sync: actualpy imported first (not timed, as a worker imports it at start), then timed:
`Actual(...)` entered on an empty data dir (download, migrations check, sync) and every transaction read
through its ORM. Prints one JSON line: {"seconds", "cpu_s", "transactions", "peak_rss_mib"}.
"""
from __future__ import annotations

import json
import resource
import sys
import time
import warnings


def main(url: str, token: str, file_id: str, data_dir: str) -> None:
    from actual import Actual
    from actual.database import Transactions
    from sqlmodel import select

    warnings.simplefilter("ignore")
    started, cpu = time.perf_counter(), time.process_time()
    with Actual(url, token=token, file=file_id, data_dir=data_dir) as actual:
        n = len(actual.session.exec(select(Transactions)).all())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "transactions": n,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main(*sys.argv[1:5])
