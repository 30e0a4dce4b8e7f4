"""The benchmark's plugin: one job type, `bench_noop`, whose one step does nothing.

Loaded by web and worker alike through `BA_PLUGINS=bench.noop_tasks` (bench/procs.py sets it), the same
way any plugin adds a job type (wiring/plugins.py).
"""
from __future__ import annotations

from jobs.registry import JobRegistry, JobType
from jobs.steps import StepContext, StepOutcome, StepRunners

NOOP = JobType("bench_noop", "Bench no-op", ("noop",), "bench-noop")


def run_noop(ctx: StepContext) -> StepOutcome:
    """The one step of a bench_noop job: does nothing."""
    return StepOutcome({}, "")


def register(registry: JobRegistry, runners: StepRunners) -> None:
    """Add the bench_noop job type and its step runner."""
    registry.register(NOOP)
    runners["noop"] = run_noop
