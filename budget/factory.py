"""Opens the right connector for a budget: the built-in demo budget or an Actual server file."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from budget.connector import Connector, ConnectorError
from models.domain import Budget

Wrap = Callable[[str, Connector], Connector]
"""Given a budget id and its connector, the connector to use instead (test-only fault injection)."""


class ConnectorFactory:
    """Builds one connector per step; the Actual session is created once per process and reused."""

    def __init__(self, data_dir: Path, *, actual_session: Optional[Callable[[], Any]] = None,
                 encryption_password: Optional[str] = None, wrap: Optional[Wrap] = None) -> None:
        self.data_dir = data_dir
        self._actual_session = actual_session
        self._encryption_password = encryption_password
        self._wrap = wrap

    def open(self, budget: Budget) -> Connector:
        """A connector for `budget`'s working copy."""
        connector = self._open(budget)
        return self._wrap(budget.id, connector) if self._wrap else connector

    def working_copy(self, budget: Budget) -> Path:
        """The folder that holds `budget`'s local files under DATA_DIR."""
        return self.data_dir / ("demo" if budget.connector == "demo" else "budgets") / budget.id

    def _open(self, budget: Budget) -> Connector:
        if budget.connector == "demo":
            from budget.demo import DemoConnector

            return DemoConnector(self.working_copy(budget), budget.seed)
        if budget.connector == "actual":
            if self._actual_session is None:
                raise ConnectorError("This budget lives on an Actual server, but ACTUAL_SERVER_URL is not set.",
                                     code="actual_not_configured")
            from budget.actual import ActualConnector

            return ActualConnector(self._actual_session(), budget.id, self.working_copy(budget),
                                   self._encryption_password)
        raise ConnectorError(f"Unknown connector {budget.connector!r} for budget {budget.id}.")
