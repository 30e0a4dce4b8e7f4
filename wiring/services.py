"""Builds a process's services from its configuration: the one place that knows every collaborator."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from budget.factory import ConnectorFactory
from budget.faults import FaultInjection
from budget.operations import BudgetOperations
from budget.service import BudgetService
from core.config import Config
from core.logs import configure_logging
from core.redact import register_secrets
from jobs.queries import JobQueries
from jobs.queue import JobQueue
from jobs.registry import JobRegistry, default_registry
from jobs.review_work import ReviewWork
from jobs.runners import StepWork
from jobs.service import JobService
from jobs.steps import StepRunners
from models.db import open_database
from models.migrate import migrate
from suggestions.review import BudgetSource, ReviewService
from suggestions.engine import SuggestionEngine
from suggestions.llm import LlmAdvisor, LlmClient
from suggestions.service import SuggestionService
from wiring.plugins import load_plugins

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Every service a web or worker process uses."""

    config: Config
    registry: JobRegistry
    jobs: JobService
    job_queries: JobQueries
    budgets: BudgetService
    suggestions: SuggestionService
    connectors: ConnectorFactory
    steps: StepWork
    runners: StepRunners
    review: ReviewService


def actual_session_provider(config: Config) -> Optional[Callable[[], Any]]:
    """A function returning this process's one logged-in Actual session, or None without a server URL."""
    if not config.actual_server_url:
        return None
    lock = threading.Lock()
    holder: dict[str, Any] = {}

    def session() -> Any:
        with lock:
            if "session" not in holder:
                from budget.actual.session import shared_session

                holder["session"] = shared_session(config.actual_server_url, config.actual_password or "")
            return holder["session"]

    return session


def build_services(config: Config, queue: JobQueue, registry: Optional[JobRegistry] = None) -> Services:
    """Wire the services for `config` (the database must be open), with the job types of BA_PLUGINS."""
    session = actual_session_provider(config)
    budgets = BudgetService(actual_session=session, list_ttl_seconds=config.actual_list_seconds,
                            max_budgets=config.max_budgets)
    llm = None
    if config.llm_enabled:
        llm = LlmAdvisor(LlmClient(config.llm_base_url, config.llm_model, config.llm_api_key,
                                   config.llm_timeout_seconds), config.llm_max_calls_per_job)
    suggestions = SuggestionService(SuggestionEngine(config.suggest_min_confidence, cache_dir=config.data_dir / "models",
                                                     llm=llm))
    wrap = FaultInjection(config.faults_dir).wrap if config.faults_dir else None
    connectors = ConnectorFactory(config.data_dir, actual_session=session,
                                  encryption_password=config.actual_encryption_password, wrap=wrap)
    operations = BudgetOperations(config.data_dir / "snapshots", snapshot_keep=config.snapshot_keep)
    steps = StepWork(budgets, connectors, operations, suggestions, ReviewWork(note_tag=config.apply_note_tag))
    registry = registry or default_registry()
    runners = steps.runners()
    load_plugins(config.plugins, registry, runners)
    registry = registry.with_timeouts(dict(config.job_timeout_minutes)).with_retry_base(config.retry_base_seconds)
    jobs = JobService(registry, queue, lock_ttl_seconds=config.heartbeat_timeout_seconds)
    review = ReviewService(BudgetSource(budgets.get, connectors.open), suggestions.engine)
    return Services(config, registry, jobs, JobQueries(registry), budgets, suggestions, connectors, steps, runners,
                    review)


def prepare(config: Config) -> None:
    """Open the database, apply pending migrations and ensure the demo budget (web and worker start)."""
    configure_logging(config.log_level, config.log_format)
    register_secrets(config.secrets())
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(config.database_url, pool_size=config.worker_count + 4)
    with db.connection_context():
        applied = migrate()
        if applied:
            log.info("database migrated to version %s", applied[-1])
        if config.demo_budget:
            BudgetService().ensure_demo()
