"""Fixtures for unit tests: a temp database, services over a recording queue, a Falcon TestClient."""
from __future__ import annotations

import pytest
from falcon import testing

from api.app import create_app
from core.config import Config
from jobs.orchestrator import JobOrchestrator
from jobs.queue import RecordingQueue
from models.db import database, open_database
from models.migrate import migrate
from budget.faults import write_faults
from budget.service import BudgetService
from wiring.services import build_services


@pytest.fixture()
def config(tmp_path):
    return Config.from_env({"DATA_DIR": str(tmp_path / "data"), "HEARTBEAT_INTERVAL_SECONDS": "0.2",
                            "BA_FAULTS_DIR": str(tmp_path / "faults")})


@pytest.fixture()
def db(config):
    config.data_dir.mkdir(parents=True, exist_ok=True)
    open_database(config.database_url)
    database.connect(reuse_if_open=True)
    migrate()
    yield database
    database.close()


@pytest.fixture()
def queue():
    return RecordingQueue()


@pytest.fixture()
def services(config, db, queue):
    BudgetService().ensure_demo()
    return build_services(config, queue)


@pytest.fixture()
def orchestrator(services):
    return JobOrchestrator(services.jobs, services.steps.runners(), worker="test:1", heartbeat_seconds=0.2)


@pytest.fixture()
def faults(config):
    """`faults(budget_id, fail_on=..., delay_on=...)`: that budget's connector fails or slows down (test-only)."""
    return lambda budget_id, **kinds: write_faults(config.faults_dir, budget_id, **kinds)


@pytest.fixture()
def client(services):
    """A client as the page is one: on an allowed Host, sending JSON."""
    return testing.TestClient(create_app(services), headers={"Host": "localhost",
                                                             "Content-Type": "application/json"})
