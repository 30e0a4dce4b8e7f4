"""After a large job the worker hands the C heap's free memory back to the OS (glibc's malloc_trim)."""
from __future__ import annotations

import ctypes.util
import platform

import pytest

from core import memory


@pytest.mark.skipif(platform.system() != "Linux" or not ctypes.util.find_library("c"), reason="glibc only")
def test_free_heap_memory_goes_back_to_the_os_after_a_large_job():
    def rss_kib() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    blocks = [bytearray(64 * 1024) for _ in range(2000)]  # ~128 MiB in the C heap (below the mmap threshold)
    for b in blocks:
        b[::4096] = b"x" * len(b[::4096])  # touch every page
    kept = blocks[-1]  # the heap's top stays in use: only trimming can give the rest back
    del blocks[:-1]
    before = rss_kib()
    assert memory.release_free_memory() is True
    assert before - rss_kib() > 64 * 1024  # most of the freed 128 MiB is no longer resident
    assert kept[0] == ord("x")


def test_a_c_library_without_malloc_trim_is_left_alone(monkeypatch):
    monkeypatch.setattr(memory, "_looked", True)
    monkeypatch.setattr(memory, "_trim", None)
    assert memory.release_free_memory() is False
