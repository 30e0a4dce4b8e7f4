"""Hand the C heap's free memory back to the OS after a large job (glibc's malloc_trim; elsewhere nothing).

A job that read a big budget frees most of what it allocated, but glibc keeps freed heap pages mapped, so
a long-running worker's resident size would creep up job after job. Python's own small-object arenas are
returned when empty and are not affected.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from typing import Callable, Optional

LARGE_JOB_SECONDS = 1.0
"""A job run at least this long is taken as large (it read or trained on a budget): trim after it."""

_trim: Optional[Callable[[int], int]] = None
_looked = False


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; False where the C library has no malloc_trim."""
    global _trim, _looked
    if not _looked:
        _looked = True
        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = None
    if _trim is None:
        return False
    _trim(0)
    return True
