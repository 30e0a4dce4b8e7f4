"""Budgets: the demo budgets kept here and the files of the configured Actual server."""
from __future__ import annotations

import logging
import time
import uuid
import zlib
from typing import Any, Callable, Optional

from budget.connector import ConnectorError
from core.clock import Clock, utcnow
from core.errors import Conflict, InvalidTransition, NotFound, Unavailable, ValidationFailed
from models.db import get_by_key, write_transaction
from models.domain import Budget

log = logging.getLogger(__name__)

DEMO_BUDGET_ID = "demo"
DEMO_SEED = 20261129


class BudgetService:
    """Lists, creates and resolves budgets."""

    def __init__(self, *, clock: Clock = utcnow, actual_session: Optional[Callable[[], Any]] = None,
                 list_ttl_seconds: float = 30.0, max_budgets: int = 50) -> None:
        self.clock = clock
        self.max_budgets = max_budgets
        self._actual_session = actual_session
        self._list_ttl = list_ttl_seconds
        self._files_cache: tuple[float, list[tuple[str, str]]] | None = None

    def ensure_demo(self) -> Budget:
        """The built-in demo budget, created on first call (safe when several processes race)."""
        Budget.insert(id=DEMO_BUDGET_ID, name="Demo Household", connector="demo", seed=DEMO_SEED,
                      options={}, created_at=self.clock()).on_conflict_ignore().execute()
        return Budget.get_by_id(DEMO_BUDGET_ID)

    def create_demo(self, name: str) -> Budget:
        """Another demo budget with its own data, from a seed derived from its id."""
        budget_id = f"demo-{uuid.uuid4().hex[:12]}"
        seed = zlib.crc32(budget_id.encode()) & 0x7FFFFFFF  # fits a 32-bit INTEGER column
        with write_transaction():  # count and insert under the write lock: concurrent adds cannot pass the cap
            if Budget.select().count() >= self.max_budgets:
                raise Conflict(f"This service keeps at most {self.max_budgets} budgets (MAX_BUDGETS).",
                               code="too_many_budgets")
            return Budget.create(id=budget_id, name=name, connector="demo", seed=seed, options={},
                                 created_at=self.clock())

    def local(self) -> list[Budget]:
        """The budgets recorded here, oldest first."""
        return list(Budget.select().order_by(Budget.created_at, Budget.id))

    def list(self) -> list[dict]:
        """Local budgets, then the Actual server's files not yet known locally.

        A local Actual budget the server no longer lists is flagged `deletedOnServer` (and `removable`).
        """
        rows = [budget_dict(b) for b in self.local()]
        known = {r["id"]: r for r in rows}
        files = self._actual_files()
        for file_id, name in files:
            if file_id in known:
                known[file_id]["name"] = name  # the server's name wins: it may have been renamed there
            else:
                rows.append({"id": file_id, "name": name, "connector": "actual", "createdAt": None,
                             "deletedOnServer": False, "removable": False})
        if self._actual_session is not None:
            on_server = {file_id for file_id, _ in files}
            for row in rows:
                if row["connector"] == "actual" and row["id"] not in on_server:
                    row["deletedOnServer"] = row["removable"] = True
        return rows

    def resolve(self, budget_id: str, field: str = "budgetId") -> Budget:
        """The budget with this id; an Actual file id seen for the first time is recorded here."""
        budget = get_by_key(Budget, budget_id)
        if budget is not None:
            return budget
        if self._actual_session is not None:
            try:
                files = dict(self._actual_files(refresh=True))
            except ConnectorError as exc:  # unreachable, wrong password...: readable, not a 500
                raise Unavailable(exc.message, field=field, code=exc.code) from None
            if budget_id in files:
                Budget.insert(id=budget_id, name=files[budget_id], connector="actual", seed=0, options={},
                              created_at=self.clock()).on_conflict_ignore().execute()
                return Budget.get_by_id(budget_id)
            raise NotFound(f"No budget file with id {budget_id!r} on the Actual server.", field=field,
                           code="budget_not_found")
        raise ValidationFailed(f"{field} {budget_id!r} is not a known budget.", field=field, code="unknown_budget")

    def get(self, budget_id: str) -> Budget:
        """A budget already recorded here, or NotFound."""
        budget = get_by_key(Budget, budget_id)
        if budget is None:
            raise NotFound(f"No budget with id {budget_id!r}.")
        return budget

    def check_removable(self, budget_id: str) -> Budget:
        """The budget, if it may be removed here: a demo budget a user added, or an Actual budget its server deleted.

        Whether the server still has the file is asked afresh; an unreachable server is Unavailable.
        """
        budget = self.get(budget_id)
        if budget.id == DEMO_BUDGET_ID:
            raise InvalidTransition("The built-in demo budget cannot be removed.", code="built_in_budget")
        if budget.connector != "actual":
            return budget
        if self._actual_session is None:
            raise Unavailable("ACTUAL_SERVER_URL is not set, so whether the server still has this budget "
                              "cannot be checked.", code="actual_not_configured")
        try:
            files = dict(self._actual_files(refresh=True))
        except ConnectorError as exc:
            raise Unavailable(exc.message, code=exc.code) from None
        if budget.id in files:
            raise InvalidTransition(f"The budget {files[budget.id]!r} is still on the Actual server; only a budget "
                                    "deleted there can be removed here.", code="budget_on_server")
        return budget

    def forget(self, budget_id: str) -> int:
        """Delete the budget's row (its suggestions and working copy are the caller's); return rows deleted."""
        return Budget.delete().where(Budget.id == budget_id).execute()

    def _actual_files(self, refresh: bool = False) -> list[tuple[str, str]]:
        if self._actual_session is None:
            return []
        now = time.monotonic()
        if not refresh and self._files_cache and now - self._files_cache[0] < self._list_ttl:
            return self._files_cache[1]
        files = self._actual_session().list_budget_files()
        self._files_cache = (now, files)
        return files


def budget_dict(budget: Budget) -> dict:
    """A budget as the API shows it."""
    from core.clock import isoformat

    return {"id": budget.id, "name": budget.name, "connector": budget.connector,
            "createdAt": isoformat(budget.created_at), "deletedOnServer": False,
            "removable": budget.connector == "demo" and budget.id != DEMO_BUDGET_ID}
