"""Suite-wide fixtures: the Actual server plugin and the scale-out backend switch."""
from __future__ import annotations

import pytest

from tests.support import backends

pytest_plugins = ["tests.support.actual_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def scaleout_backend():
    """With BA_TEST_BACKEND=scaleout: skip in one line without PostgreSQL/Redis, else clean before and after."""
    if not backends.scaleout_requested():
        yield None
        return
    missing = backends.missing_services()
    if missing:
        pytest.skip(missing)
    backends.clean_all()
    yield True
    backends.clean_all()
