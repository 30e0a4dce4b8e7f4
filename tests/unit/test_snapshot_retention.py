"""Issue 11 item 7: snapshots no longer pile up (about 700 KB each); each budget keeps SNAPSHOT_KEEP."""
from __future__ import annotations

import datetime as dt

from budget.snapshot_retention import prune_snapshots
from core.config import Config
from models.domain import Snapshot


def make_snapshot(tmp_path, budget_id: str, n: int) -> Snapshot:
    path = tmp_path / budget_id / f"s{n}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 10)
    return Snapshot.create(id=f"{budget_id}-{n}", budget_id=budget_id, job_id=None, path=str(path), size_bytes=10,
                           transaction_count=1, category_count=1,
                           created_at=dt.datetime(2026, 1, 1) + dt.timedelta(minutes=n))


def test_only_the_newest_snapshots_of_each_budget_are_kept(db, tmp_path):
    for n in range(13):
        make_snapshot(tmp_path, "a", n)
    make_snapshot(tmp_path, "b", 0)
    assert prune_snapshots("a", keep=10) == 3
    kept = sorted(s.id for s in Snapshot.select().where(Snapshot.budget_id == "a"))
    assert kept == sorted(f"a-{n}" for n in range(3, 13))
    assert not (tmp_path / "a" / "s0.sqlite").exists() and (tmp_path / "a" / "s3.sqlite").exists()
    assert Snapshot.select().where(Snapshot.budget_id == "b").count() == 1
    assert prune_snapshots("a", keep=10) == 0


def test_snapshot_keep_defaults_to_10(tmp_path):
    assert Config.from_env({"DATA_DIR": str(tmp_path)}).snapshot_keep == 10
    assert Config.from_env({"DATA_DIR": str(tmp_path), "SNAPSHOT_KEEP": "3"}).snapshot_keep == 3


def test_a_snapshot_job_prunes_the_oldest_beyond_snapshot_keep(db, queue, tmp_path):
    from budget.service import BudgetService
    from jobs.orchestrator import JobOrchestrator
    from wiring.services import build_services

    config = Config.from_env({"DATA_DIR": str(tmp_path / "data"), "SNAPSHOT_KEEP": "2"})
    BudgetService().ensure_demo()
    services = build_services(config, queue)
    orchestrator = JobOrchestrator(services.jobs, services.steps.runners(), worker="test:1", heartbeat_seconds=0.2)
    ids = []
    for _ in range(3):
        job = services.jobs.create("snapshot_create", "demo").job
        orchestrator.run(job.id)
        ids.append(job.id)
    kept = {s.id for s in Snapshot.select().where(Snapshot.budget_id == "demo")}
    assert kept == set(ids[1:])
    files = sorted(p.name for p in (config.data_dir / "snapshots" / "demo").iterdir())
    assert files == sorted(f"{i}.sqlite" for i in ids[1:])
