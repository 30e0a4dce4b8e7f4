"""The Actual Budget connector: session (login), error translation, connector, actualpy adapter."""
from budget.actual.connector import ActualConnector
from budget.actual.session import ActualSession

__all__ = ["ActualConnector", "ActualSession"]
