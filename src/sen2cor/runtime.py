"""Process-wide memory and codec settings for a processing run (issue 8: a full tile in about 2 GB, fast).

:func:`configure_memory` is called once per process that processes tiles (the CLI, each batch worker):

* **glibc allocator: freed arrays are reused, not unmapped.**  A run allocates
  and frees tens of gigabytes of short-lived arrays (strips, masks, band temporaries).  glibc maps every
  allocation above its mmap threshold with a fresh ``mmap`` and unmaps it when freed, so each new array is
  first touched page by page — on the benchmark machine (a 2-core VM) 10 million page faults and 58 s of
  kernel time in a ``--tif`` run, a quarter of its CPU time.  Here large allocations come from the heap
  (``M_MMAP_MAX`` 0, at most :data:`HEAP_ARENAS` arenas), whose freed blocks the next arrays reuse without
  faults: 0.9 million faults, 31 s of kernel time (the rest is file I/O), 159 → 120 s wall.
  JPEG 2000 runs used to keep glibc's mapping (a fixed 4 MB threshold): their encodings took 40–60 % more
  CPU time on such a heap while OpenJPEG ran a thread pool per image (one job per code-block, a lock and a
  hand-over each); with the codec on one thread per image (:func:`configure_codec`) the heap serves them
  as well: a full-tile JPEG 2000 run 250.6 → 235.8 s, 9.2 → 1.0 million faults, 61 → 37 s kernel time.
* **A soft limit on the resident size.**  A heap keeps what it frees, so a watcher thread returns the free
  heap pages to the system (``malloc_trim``) while the resident size is above
  :data:`RESIDENT_SOFT_LIMIT_BYTES` (at once after :data:`TRIM_STEP_BYTES` of growth, else every
  :data:`TRIM_REPEAT_S`): the peak stays that of the live arrays (full tile 1.81–1.99 GB, as with every
  large array unmapped).  Each page returned costs a fault when the next array reuses it, so the limit sits
  just under the live peak (:data:`RESIDENT_SOFT_LIMIT_BYTES`).  On a VM that reports free guest memory to
  its host (the benchmark machine: Firecracker, free page reporting) a returned page soon loses its host
  backing, and faulting it back costs ≈ 1.6 s of kernel time per GB against ≈ 0.1 s for memory still
  backed: the chain drops arrays it no longer needs (e.g. the 20 m maps once the 10 m step 1 has used them)
  so that the live arrays stay under the limit and little is returned (docs/benchmarks.md, session 16).
* **GDAL block cache**: ``GDAL_CACHEMAX`` 256 MB unless the user set it (GDAL's default is 5 % of the RAM);
  the chain reads and writes whole strips, so a larger cache only holds memory.

:func:`configure_codec` (same callers) makes **OpenJPEG code each image on the thread that asks**
(``OPJ_NUM_THREADS`` 0, unless the user set it).  Given ``NUM_THREADS`` n, GDAL hands OpenJPEG a pool of n
threads that takes one job per code-block, and Sen2Cor's 20 m and 60 m layouts have 8² and 4² code-blocks
(facts §9): a 20 m band is 470 000 hand-overs, each a lock, a wake-up and often a context switch.  Encoding
B05 of the benchmark tile took 4.8 s on 2 threads for 8.4 CPU-s (1.8 s of it in the kernel), and on the
calling thread alone 5.8 s for 5.9 CPU-s; the 41 images of a full-tile product re-encoded two at a time,
one thread each, 113.5 s, against 141.1 s one after the other on 2 threads each.  So the chain runs
several codings at once instead: the reader decodes a band by JPEG 2000 tile rows on ``Nr_Threads``
threads (:meth:`sen2cor.io.l1c_bands.BandReader.dn`), the writer encodes ``Nr_Threads`` images at a time.
GDAL reads ``OPJ_NUM_THREADS`` when it creates each codec: a user value (e.g. ``ALL_CPUS``) is kept.

:func:`configure_blas` (same callers) gives the **BLAS library one thread**.  The chain's matrix products
are the angle-grid interpolations (:func:`sen2cor.physics.geometry.grid_to_pixels`, a few milliseconds
each); on more threads OpenBLAS's helpers spin after every product, which cost 1.5 % of a full-tile
``--tif`` run's CPU time, taken from the other core's work.  A user's ``OPENBLAS_NUM_THREADS`` (or
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) is kept.

:func:`configure_openmp` (same callers) makes **idle OpenMP threads sleep** (``OMP_WAIT_POLICY``
``PASSIVE`` unless the user set it).  numba's ``parallel=True`` kernels (scene classification, aerosol and
water-vapour steps) run on its OpenMP layer (GNU libgomp), whose threads otherwise spin after each parallel
loop before they sleep: 3.6 CPU-s of a full-tile JPEG 2000 run (``perf``: libgomp's spin loop), taken from
the encoder on the other core; the 20 m correction of the benchmark tile alone took ≈ 2 CPU-s less with
them sleeping.  libgomp reads the variable when it is loaded (numba's first parallel kernel, after this).

:func:`freeze_imports` (the CLI and each batch tile, once the chain is imported) moves the objects of the
imported modules out of Python's cyclic garbage collector (``gc.freeze``): ≈ 95 000 objects (numba, SciPy,
rasterio, the chain) that every full collection walked with the GIL held — four full collections of
50–108 ms in a full-tile run (0.33 s; all collections 0.43 s).

A user who tunes glibc's allocator (``GLIBC_TUNABLES`` or a ``MALLOC_…_`` variable) keeps those settings.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
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

TRIM_THRESHOLD_BYTES: Final[int] = 2_000_000_000
"""Free memory at the top of the heap above this size goes back to the system at once (glibc's ``free``).
At 2 GB, above :data:`RESIDENT_SOFT_LIMIT_BYTES`, glibc never does so by itself: the watcher alone returns
free memory, and only above the soft limit.  With 256 MB the classification's large temporaries were
returned and faulted in again as they came and went (the resident size swung between 0.6 and 1.4 GB): three
default full-tile JPEG 2000 runs zeroed 2 650–3 350 transparent huge pages and spent 9.4–12.0 s in the
kernel, against 1 760–2 070 pages and 9.2–10.1 s with 2 GB; peak (``ru_maxrss``) 1.88–1.89 GB against
1.85–1.87 GB (docs/benchmarks.md, session 22).  (Earlier code, with more temporaries: a ``--tif`` run zeroed ≈ 13 000
pages with 64 MB, ≈ 9 700 with 256 MB and 8 200–9 800 with 1 GB.)"""

RESIDENT_SOFT_LIMIT_BYTES: Final[int] = 1_800_000_000
"""Resident size above which the free heap pages are returned to the system (issue 8 allows 2 GB).

Every page returned is faulted in afresh when an array reuses it, and on the benchmark VM a fresh page is
expensive (the host zeroes it; docs/benchmarks.md, session 12).  The live arrays of a full tile peak at
≈ 1.85 GB (20 m correction), so a lower limit makes the watcher return memory every
:data:`TRIM_REPEAT_S` through most of the run: with 1.6 GB a ``--tif`` run zeroed ≈ 9 000 transparent
huge pages (18 GB) and spent 15.6–21.6 s in the kernel (four runs), with 1.8 GB ≈ 4 100–5 300 and
11.6–19.3 s, 12 s typical (without a limit ≈ 2 000 and 11 s, but a 2.07 GB peak).  The high-water mark of
the resident size (``ru_maxrss``) was 1.86–1.99 GB with 1.6 GB and 1.88–1.99 GB with 1.8 GB (``--tif``;
``--resolution 10`` with JPEG 2000: 1.89 GB, and 1.91–1.99 GB): set by the first strips of the 20 m
surface reflectance, not by the limit.  (Their highest point was in fact the 60 m aggregate of B09, three
tile-size temporaries, now made by strips: 1.81–1.84 GB since, docs/benchmarks.md, session 21.)"""

TRIM_STEP_BYTES: Final[int] = 64 * 1024 * 1024
"""Growth of the resident size above the soft limit that triggers the next return at once."""

TRIM_REPEAT_S: Final[float] = 0.5
"""Above the soft limit without such growth, the free pages are returned this often (memory freed since)."""

WATCH_INTERVAL_S: Final[float] = 0.2
"""How often the watcher looks at the resident size."""

WATCHER_NAME: Final[str] = "sen2cor-memory-watcher"

GDAL_CACHEMAX_MB: Final[int] = 256
"""Default GDAL block cache of a run (MB)."""

OPENJPEG_THREADS_VARIABLE: Final[str] = "OPJ_NUM_THREADS"
OPENJPEG_THREADS: Final[str] = "0"
"""OpenJPEG's own threads per codec: none, the calling thread codes (module docstring)."""

OPENMP_WAIT_POLICY_VARIABLE: Final[str] = "OMP_WAIT_POLICY"
OPENMP_WAIT_POLICY: Final[str] = "PASSIVE"
"""Idle OpenMP threads (numba's parallel kernels) sleep at once instead of spinning (module docstring)."""

BLAS_THREADS: Final[int] = 1
"""Threads of the BLAS library (numpy's OpenBLAS) in a processing run."""

USER_BLAS_VARIABLES: Final[tuple[str, ...]] = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Environment variables through which a user sets the BLAS threads (then left alone)."""

M_TRIM_THRESHOLD: Final[int] = -1
M_MMAP_MAX: Final[int] = -4
M_ARENA_MAX: Final[int] = -8
"""``mallopt`` parameter numbers (glibc ``malloc.h``)."""

USER_ALLOCATOR_VARIABLES: Final[tuple[str, ...]] = (
    "GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
)
"""Environment variables through which a user tunes glibc's allocator (then left alone)."""


def configure_memory(*, soft_limit_bytes: int = RESIDENT_SOFT_LIMIT_BYTES) -> None:
    """Apply the settings of the module docstring (no-op where glibc is not the allocator); a process keeps
    the first soft limit it was given (a batch worker runs several tiles)."""
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


def configure_codec() -> None:
    """Set ``OPJ_NUM_THREADS`` to :data:`OPENJPEG_THREADS` unless it is set (module docstring)."""
    os.environ.setdefault(OPENJPEG_THREADS_VARIABLE, OPENJPEG_THREADS)


def configure_blas() -> None:
    """One BLAS thread unless a BLAS thread variable is set (module docstring)."""
    if any(v in os.environ for v in USER_BLAS_VARIABLES):
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=BLAS_THREADS, user_api="blas")


def freeze_imports() -> None:
    """Leave every object that exists now (the imported modules') out of later garbage collections
    (module docstring)."""
    gc.freeze()


def configure_openmp() -> None:
    """``OMP_WAIT_POLICY`` :data:`OPENMP_WAIT_POLICY` unless it is set (module docstring)."""
    os.environ.setdefault(OPENMP_WAIT_POLICY_VARIABLE, OPENMP_WAIT_POLICY)


def configure_process() -> None:
    """All settings of a processing process: :func:`configure_memory`, :func:`configure_codec`,
    :func:`configure_blas` and :func:`configure_openmp` (the CLI and each batch worker)."""
    configure_memory()
    configure_codec()
    configure_blas()
    configure_openmp()


def resident_bytes() -> int:
    """Resident size of this process (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _watch(limit: int, release: Callable[[], object]) -> None:
    """Return the free heap pages to the system while the resident size is above ``limit``: at once when it
    has grown by :data:`TRIM_STEP_BYTES` since the last return, else every :data:`TRIM_REPEAT_S` (a return
    also empties glibc's caches of small free blocks: not five times a second while the live arrays alone
    pass the limit)."""
    floor, last = 0, 0.0
    while True:
        time.sleep(WATCH_INTERVAL_S)
        try:
            rss = resident_bytes()
            now = time.monotonic()
            if rss <= limit:
                floor = 0
            elif rss > floor + TRIM_STEP_BYTES or now - last >= TRIM_REPEAT_S:
                release()
                floor, last = resident_bytes(), now
        except OSError:  # /proc unavailable: nothing to watch
            return


__all__ = [
    "BLAS_THREADS", "GDAL_CACHEMAX_MB", "OPENJPEG_THREADS", "RESIDENT_SOFT_LIMIT_BYTES", "configure_blas",
    "configure_codec", "configure_memory", "configure_openmp", "configure_process", "resident_bytes",
]
