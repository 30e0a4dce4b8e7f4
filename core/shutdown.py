"""Tells a running task that its huey_consumer is shutting down (gracefully, on SIGTERM or SIGINT)."""
from __future__ import annotations

import signal
import threading
from typing import Optional

_flag: Optional[threading.Event] = None


def _consumer_stop_flag() -> Optional[threading.Event]:
    """The consumer's stop flag, found through the signal handler huey_consumer installs."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        owner = getattr(handler, "__self__", None)
        flag = getattr(owner, "stop_flag", None)
        if flag is not None and hasattr(flag, "is_set"):
            return flag
    return None


def shutting_down() -> bool:
    """True once the worker process was asked to stop."""
    global _flag
    if _flag is None:
        _flag = _consumer_stop_flag()
    return bool(_flag is not None and _flag.is_set())

