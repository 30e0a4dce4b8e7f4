"""`python -m bench.probe_purge`: run the retention purge once; prints `[deleted, seconds]` as JSON."""
from __future__ import annotations

import json
import time

from core.config import Config
from jobs.retention import purge_old_jobs
from models.db import database, open_database


def main() -> None:
    config = Config.from_env()
    open_database(config.database_url)
    with database.connection_context():
        started = time.perf_counter()
        deleted = purge_old_jobs(config.job_retention_days)
        print(json.dumps([deleted, time.perf_counter() - started]))


if __name__ == "__main__":
    main()
