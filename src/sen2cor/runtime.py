"""Process-wide memory settings for a processing run (issue 8: a full tile in about 2 GB, fast).

:func:`configure_memory` is called once per process that processes tiles (the CLI, each batch worker):

* **glibc allocator: freed arrays are reused, not unmapped.**  A run allocates and frees tens of gigabytes
  of short-lived arrays (strips, masks, band temporaries).  glibc maps every allocation above its mmap
  threshold with a fresh ``mmap`` and unmaps it when freed, so each new array is first touched page by page
  — on the benchmark machine (a 2-core VM) that was 10 million page faults and 61 s of kernel time in a
  ``--tif`` run, 27 % of its CPU time.  Here large allocations come from the heap (``M_MMAP_MAX`` 0, at
  most :data:`HEAP_ARENAS` arenas), whose freed blocks the next arrays reuse without faults: 0.8 million
  faults, 31 s of kernel time (the rest is file I/O).
* **A soft limit on the resident size.**  A heap keeps what it frees, so a watcher thread returns the free
  heap pages to the system (``malloc_trim``) whenever the resident size passes
  :data:`RESIDENT_SOFT_LIMIT_BYTES`: the peak stays that of the live arrays (full tile 1.81 GB, was
  1.83 GB with every large array unmapped when freed).
* **GDAL block cache**: ``GDAL_CACHEMAX`` 256 MB unless the user set it (GDAL's default is 5 % of the RAM);
  the chain reads and writes whole strips, so a larger cache only holds memory.

A user who tunes glibc's allocator (``GLIBC_TUNABLES`` or a ``MALLOC_…_`` variable) keeps those settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Final

log = logging.getLogger(__name__)

HEAP_ARENAS: Final[int] = 2
"""glibc arenas (one per core of the benchmark machine): each arena keeps its own free blocks, so fewer
arenas reuse more."""

TRIM_THRESHOLD_BYTES: Final[int] = 64 * 1024 * 1024
"""Free memory at the top of the heap above this size goes back to the system at once."""

RESIDENT_SOFT_LIMIT_BYTES: Final[int] = 1_600_000_000
"""Resident size above which the free heap pages are returned to the system (issue 8 allows 2 GB)."""

WATCH_INTERVAL_S: Final[float] = 0.2
"""How often the watcher looks at the resident size."""

WATCHER_NAME: Final[str] = "sen2cor-memory-watcher"

GDAL_CACHEMAX_MB: Final[int] = 256
"""Default GDAL block cache of a run (MB)."""

M_TRIM_THRESHOLD: Final[int] = -1
M_MMAP_MAX: Final[int] = -4
M_ARENA_MAX: Final[int] = -8
"""``mallopt`` parameter numbers (glibc ``malloc.h``)."""

USER_ALLOCATOR_VARIABLES: Final[tuple[str, ...]] = (
    "GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
)
"""Environment variables through which a user tunes glibc's allocator (then left alone)."""


def configure_memory(soft_limit_bytes: int = RESIDENT_SOFT_LIMIT_BYTES) -> None:
    """Apply the settings of the module docstring (idempotent: the first call's limit holds; no-op where
    glibc is not the allocator)."""
    os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHEMAX_MB))
    if not sys.platform.startswith("linux") or any(v in os.environ for v in USER_ALLOCATOR_VARIABLES):
        return
    if any(t.name == WATCHER_NAME for t in threading.enumerate()):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return
    settings = ((M_ARENA_MAX, HEAP_ARENAS), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES), (M_MMAP_MAX, 0))
    if not all(mallopt(param, value) == 1 for param, value in settings):
        log.debug("mallopt refused a setting; the allocator keeps (some of) its defaults")
    trim.argtypes = [ctypes.c_size_t]
    watcher = threading.Thread(target=_watch, args=(soft_limit_bytes, lambda: trim(0)), name=WATCHER_NAME,
                               daemon=True)
    watcher.start()


def resident_bytes() -> int:
    """Resident size of this process (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _watch(limit: int, release: Callable[[], object]) -> None:
    """Return the free heap pages to the system whenever the resident size is above ``limit``."""
    while True:
        time.sleep(WATCH_INTERVAL_S)
        try:
            if resident_bytes() > limit:
                release()
        except OSError:  # /proc unavailable: nothing to watch
            return


__all__ = ["GDAL_CACHEMAX_MB", "RESIDENT_SOFT_LIMIT_BYTES", "configure_memory", "resident_bytes"]
