"""Fixtures that start the real stack."""
from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.fixture()
def stack_factory(tmp_path):
    """Start stacks with custom environments; all are stopped at the end of the test."""
    started: list[Stack] = []

    def make(env: dict | None = None, workers: int = 1, data_dir=None) -> Stack:
        s = Stack(data_dir or tmp_path / f"data{len(started)}", env)
        started.append(s)
        return s.start(workers=workers)

    yield make
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """One running stack shared by a module's tests."""
    s = Stack(tmp_path_factory.mktemp("stack") / "data")
    s.start(workers=1)
    yield s
    s.stop()
