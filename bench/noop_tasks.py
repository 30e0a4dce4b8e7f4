"""The product's Huey instance with one extra job type that only the benchmark registers: `bench_noop`.

Worker: `huey_consumer bench.noop_tasks.huey <the Procfile's worker flags>`.
"""
from __future__ import annotations

import tasks
from jobs.registry import JobType
from jobs.steps import StepContext, StepOutcome

NOOP = JobType("bench_noop", "Bench no-op", ("noop",), "bench-noop")


def run_noop(ctx: StepContext) -> StepOutcome:
    """The one step of a bench_noop job: does nothing."""
    return StepOutcome({}, "")


tasks.register_job_type(NOOP, run_noop)

huey = tasks.huey
