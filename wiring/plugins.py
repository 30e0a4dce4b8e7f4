"""Plugins: modules named in BA_PLUGINS add job types through the public registry.

A plugin is a module with `register(registry: JobRegistry, runners: StepRunners) -> None` that calls
`registry.register(JobType(...))` and sets `runners[step_type] = runner` for each step type it brings.
The benchmark's no-op job (bench/noop_tasks.py) is one; web and worker must load the same plugins.
"""
from __future__ import annotations

import importlib
from typing import Iterable

from jobs.registry import JobRegistry
from jobs.steps import StepRunners


def load_plugins(names: Iterable[str], registry: JobRegistry, runners: StepRunners) -> None:
    """Import each module in `names` and let it register its job types and step runners."""
    for name in names:
        importlib.import_module(name).register(registry, runners)
