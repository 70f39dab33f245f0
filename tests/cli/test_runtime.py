"""Process memory and codec settings of a run (sen2cor.runtime)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sen2cor.io.l2a.raster import Georef, write_image
from sen2cor.runtime import (
    BLAS_THREADS,
    GDAL_CACHEMAX_MB,
    OPENJPEG_THREADS,
    OPENMP_WAIT_POLICY,
    USER_ALLOCATOR_VARIABLES,
    USER_BLAS_VARIABLES,
    WATCHER_NAME,
    configure_codec,
    configure_memory,
    configure_openmp,
)


def test_gdal_cache_default_and_user_value_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    configure_memory()
    assert os.environ["GDAL_CACHEMAX"] == str(GDAL_CACHEMAX_MB)
    monkeypatch.setenv("GDAL_CACHEMAX", "1024")
    configure_memory()
    assert os.environ["GDAL_CACHEMAX"] == "1024"  # the user's value wins


def _glibc() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("missing resource: glibc mallopt only on Linux")
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt  # noqa: B018
    except (OSError, AttributeError):
        pytest.skip("missing resource: this C library has no mallopt (musl or another non-glibc libc)")


def _probe(code: str, *args: str) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in USER_ALLOCATOR_VARIABLES}
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, env=env)
    return [float(v) for v in out.stdout.split()]


REUSE = """
import resource, sys
import numpy as np
np._core.multiarray._set_madvise_hugepage(False)  # count 4 KiB pages
from sen2cor.runtime import configure_memory
if sys.argv[1] == "configured":
    configure_memory()
np.ones(6_000_000)  # 48 MB, as a band strip
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):  # ten strips, one after the other
    a = np.ones(6_000_000)
    del a
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_freed_arrays_are_reused_without_page_faults() -> None:
    """glibc maps (and unmaps) every block above 32 MiB by default: each new strip faults in its 11 719
    pages.  Configured, the freed block is reused from the heap."""
    _glibc()
    (configured,) = _probe(REUSE, "configured")
    (default,) = _probe(REUSE, "default")
    assert default > 10 * 11_000
    assert configured < 0.1 * default


STRIPS = """
import sys, time
import numpy as np
from sen2cor.runtime import configure_memory, resident_bytes
configure_memory(soft_limit_bytes=int(sys.argv[1]))
base = resident_bytes()
blocks, kept = [], []
for _ in range(20):  # 20 x 16 MB strips, each followed by a small array that stays (as in a run)
    blocks.append(np.ones(2_000_000))
    kept.append(np.ones(1000))
del blocks
after_free = resident_bytes() - base
time.sleep(2.0)
print(after_free / 1e6, (resident_bytes() - base) / 1e6)
"""


def test_free_heap_pages_go_back_above_the_soft_limit() -> None:
    """Below the soft limit the freed strips stay resident for reuse; above it the watcher returns them."""
    _glibc()
    kept_mb, _ = _probe(STRIPS, str(10**12))  # limit never reached
    freed_mb, released_mb = _probe(STRIPS, str(150_000_000))
    assert kept_mb > 250.0 and freed_mb > 250.0  # the heap keeps what was freed ...
    assert released_mb < 50.0  # ... until the resident size passes the limit


def test_user_allocator_settings_are_left_alone() -> None:
    _glibc()
    code = (f"import threading; from sen2cor.runtime import configure_memory; configure_memory(); "
            f"print(int(any(t.name == {WATCHER_NAME!r} for t in threading.enumerate())))")
    env = dict(os.environ, GLIBC_TUNABLES="glibc.malloc.arena_max=4")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "0"
    (started,) = _probe(code)
    assert started == 1


@pytest.mark.parametrize(("configure", "variable", "default", "user"), [
    (configure_codec, "OPJ_NUM_THREADS", OPENJPEG_THREADS, "ALL_CPUS"),
    (configure_openmp, "OMP_WAIT_POLICY", OPENMP_WAIT_POLICY, "ACTIVE"),
])
def test_codec_threads_and_openmp_wait_policy_default_and_user_value_kept(
        monkeypatch: pytest.MonkeyPatch, configure, variable: str, default: str, user: str) -> None:  # type: ignore[no-untyped-def]
    # OpenJPEG on the calling thread ("0"); idle OpenMP threads sleep ("PASSIVE")
    assert (variable, default) in (("OPJ_NUM_THREADS", "0"), ("OMP_WAIT_POLICY", "PASSIVE"))
    monkeypatch.delenv(variable, raising=False)
    configure()
    assert os.environ[variable] == default
    monkeypatch.setenv(variable, user)
    configure()
    assert os.environ[variable] == user  # the user's value wins


def test_codec_on_the_calling_thread_writes_the_same_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """OpenJPEG's output does not depend on its thread count: the JPEG 2000 images (20 m layout, 8² code-blocks)
    and what they decode to are the same bytes with the codec on the calling thread and on a pool of 2."""
    rng = np.random.default_rng(3)
    image = (rng.gamma(2.0, 600.0, (300, 280)) + np.linspace(0, 3000, 280)).astype(np.uint16)
    georef = Georef("EPSG:32632", rasterio.Affine(20.0, 0.0, 699960.0, 0.0, -20.0, 5800020.0))
    files = {}
    for name, opj in (("pool", None), ("calling", OPENJPEG_THREADS)):
        if opj is None:
            monkeypatch.delenv("OPJ_NUM_THREADS", raising=False)
        else:
            monkeypatch.setenv("OPJ_NUM_THREADS", opj)
        files[name] = write_image(tmp_path / f"{name}.jp2", image, georef, fmt="JP2", resolution=20, threads=2)
    assert files["pool"].read_bytes() == files["calling"].read_bytes()
    with rasterio.open(files["calling"]) as ds:
        np.testing.assert_array_equal(ds.read(1), image)


def _blas_threads(env: dict[str, str]) -> tuple[list[int], list[int]]:
    """BLAS threads before and after ``configure_blas()`` in a fresh process with ``env``."""
    code = ("from threadpoolctl import threadpool_info; from sen2cor.runtime import configure_blas; import numpy\n"
            "def n(): return ' '.join(str(i['num_threads']) for i in threadpool_info() if i['user_api'] == 'blas')\n"
            "before = n(); configure_blas(); print(before); print(n())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    before, after = out.stdout.splitlines()
    return [int(n) for n in before.split()], [int(n) for n in after.split()]


def test_blas_on_one_thread_unless_the_user_sets_it() -> None:
    env = {k: v for k, v in os.environ.items() if k not in USER_BLAS_VARIABLES}
    _, after = _blas_threads(env)
    if not after:
        pytest.skip("missing resource: numpy is linked to no BLAS library that threadpoolctl knows")
    assert after == [BLAS_THREADS] * len(after) == [1] * len(after)
    before, after = _blas_threads(dict(env, OPENBLAS_NUM_THREADS="2"))
    assert after == before  # the user's value wins: not limited
