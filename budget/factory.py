"""Opens the right connector for a budget: the built-in demo budget or an Actual server file."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from budget.connector import Connector, ConnectorError
from models.domain import Budget


class ConnectorFactory:
    """Builds one connector per step; the Actual session is created once per process and reused."""

    def __init__(self, data_dir: Path, *, actual_session: Optional[Callable[[], Any]] = None,
                 encryption_password: Optional[str] = None) -> None:
        self.data_dir = data_dir
        self._actual_session = actual_session
        self._encryption_password = encryption_password

    def open(self, budget: Budget) -> Connector:
        """A connector for `budget`'s working copy."""
        if budget.connector == "demo":
            from budget.demo import DemoConnector

            options = budget.options or {}
            return DemoConnector(self.data_dir / "demo" / budget.id, budget.seed,
                                 fail_on=options.get("failOn") or None, delay_on=options.get("delayOn") or None)
        if budget.connector == "actual":
            if self._actual_session is None:
                raise ConnectorError("This budget lives on an Actual server, but ACTUAL_SERVER_URL is not set.",
                                     code="actual_not_configured")
            from budget.actual import ActualConnector

            return ActualConnector(self._actual_session(), budget.id, self.data_dir / "budgets" / budget.id,
                                   self._encryption_password)
        raise ConnectorError(f"Unknown connector {budget.connector!r} for budget {budget.id}.")
