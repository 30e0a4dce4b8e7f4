"""BA_PLUGINS: a module's `register(registry, runners)` adds job types that web and worker both know."""
from __future__ import annotations

import dataclasses

from jobs.queue import RecordingQueue
from wiring.services import build_services


def test_a_plugin_adds_a_job_type_and_its_runner(config, db):
    services = build_services(dataclasses.replace(config, plugins=("bench.noop_tasks",)), RecordingQueue())
    noop = services.registry.by_kind("bench-noop")
    assert (noop.name, noop.steps) == ("bench_noop", ("noop",))
    assert services.runners["noop"](None).result == {}
    assert "sync" in services.runners  # the product's runners are still there


def test_without_plugins_only_the_product_types_exist(services):
    assert "bench_noop" not in services.registry.names()
