"""A large Actual budget file for the e2e bench: built once per (size, server version), cached, uploaded per run.

`cached_budget(n, server, cache_root)` returns a folder holding `db.sqlite` and `metadata.json` of a budget
with n transactions (n // 50 of them uncategorized, the rest categorized history from the demo generator),
building it on `server` the first time: actualpy's `create_budget` (the server's own base database and
migrations, hence the version in the cache key), accounts, categories and payees through actualpy, then the
transactions with one `executemany` (actualpy's ORM would take minutes for 100,000 rows, and a file upload
carries no sync messages anyway). `upload(server, folder, name)` puts a copy on a server as a new file.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import uuid
import warnings
from pathlib import Path

from testkit.suggest_data import build_data

CACHE_ROOT = Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "budget-assist" / "bench")
FORMAT = 1  # bump when the builder changes what it writes


def targets_of(n: int) -> int:
    """How many of n transactions are uncategorized (suggestion targets)."""
    return max(1, n // 50)


def cache_dir(n: int, server_version: str, root: Path = CACHE_ROOT) -> Path:
    return root / f"actual-{server_version}-{n}-f{FORMAT}"


def cached_budget(n: int, server_url: str, token: str, server_version: str, root: Path = CACHE_ROOT) -> Path:
    """The cached budget folder for n transactions on this server version, built (on `server_url`) when missing."""
    folder = cache_dir(n, server_version, root)
    if (folder / ".complete").is_file():
        return folder
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
    try:
        build(n, server_url, token, tmp)
        (tmp / ".complete").write_text(json.dumps({"n": n, "server": server_version,
                                                   "built_at": dt.datetime.now(dt.timezone.utc).isoformat()}))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def build(n: int, server_url: str, token: str, work: Path) -> None:
    """Create the budget in `work` (db.sqlite + metadata.json); nothing is uploaded."""
    from actual import Actual
    from actual.queries import create_account, create_category, create_payee

    n_targets = targets_of(n)
    history, targets, categories = build_data(n_targets, n - n_targets)
    work.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Actual(server_url, token=token, data_dir=work) as actual:
            actual.create_budget(f"Bench {n}")
            s = actual.session
            account_ids, category_ids, payee_ids = {}, {}, {}
            for t in history + targets:
                if t.account_id not in account_ids:
                    account_ids[t.account_id] = create_account(s, t.account_name or t.account_id).id
                if t.payee_name not in payee_ids:
                    payee_ids[t.payee_name] = None
            for c in categories:
                category_ids[c.id] = create_category(s, c.name, c.group_name or "Bench").id
            for name in payee_ids:
                payee_ids[name] = create_payee(s, name).id
            s.flush()
            actual.commit()  # a budget without a group id: written locally, nothing sent
    base = int(dt.datetime(2024, 1, 1).timestamp() * 1000)
    rows = []
    for i, (t, uncategorized) in enumerate([(t, False) for t in history] + [(t, True) for t in targets]):
        rows.append((str(uuid.uuid4()), account_ids[t.account_id],
                     None if uncategorized else category_ids[t.category_id], t.amount, payee_ids[t.payee_name],
                     t.notes or None, int(t.date.strftime("%Y%m%d")), t.imported_payee or None, base + i))
    with sqlite3.connect(work / "db.sqlite") as conn:
        conn.executemany(
            "INSERT INTO transactions (id, isParent, isChild, acct, category, amount, description, notes, date,"
            " imported_description, starting_balance_flag, sort_order, tombstone, cleared)"
            " VALUES (?, 0, 0, ?, ?, ?, ?, ?, ?, ?, 0, ?, 0, 1)", rows)
    conn.close()
    meta = json.loads((work / "metadata.json").read_text())
    for key in ("cloudFileId", "groupId", "userId", "lastUploaded"):
        meta.pop(key, None)
    (work / "metadata.json").write_text(json.dumps(meta))


def upload(server_url: str, token: str, folder: Path, work: Path) -> str:
    """Upload a copy of the cached budget `folder` as a new file on the server; its file id."""
    from actual import Actual

    work.mkdir(parents=True, exist_ok=True)
    for name in ("db.sqlite", "metadata.json"):
        shutil.copyfile(folder / name, work / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        actual = Actual(server_url, token=token, data_dir=work)
        try:
            actual.upload_budget()
            return actual.file.file_id
        finally:
            actual.__exit__(None, None, None)
