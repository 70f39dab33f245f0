"""Process memory settings of a run (sen2cor.runtime)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pytest

from sen2cor.runtime import GDAL_CACHEMAX_MB, MMAP_THRESHOLD_BYTES, configure_memory


def test_gdal_cache_default_and_user_value_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GDAL_CACHEMAX", raising=False)
    configure_memory()
    import os

    assert os.environ["GDAL_CACHEMAX"] == str(GDAL_CACHEMAX_MB)
    monkeypatch.setenv("GDAL_CACHEMAX", "1024")
    configure_memory()
    assert os.environ["GDAL_CACHEMAX"] == "1024"  # the user's value wins


PROBE = """
import sys
import numpy as np
from sen2cor.runtime import configure_memory
if sys.argv[1] == "configured":
    configure_memory()
else:  # glibc's dynamic rule: the threshold rises to the largest freed block (up to 32 MiB)
    import ctypes, ctypes.util
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-3, 32 * 1024 * 1024)

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

before = rss()
blocks, kept = [], []
for _ in range(20):  # 20 x 8 MB strips, each followed by a small array that stays (as in a run)
    blocks.append(np.ones(8_000_000 // 8))
    kept.append(np.ones(1000))
del blocks
print((rss() - before) / 1e6)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="missing resource: glibc mallopt only on Linux")
def test_freed_strip_buffers_are_returned_to_the_system() -> None:
    """With the fixed mmap threshold 8 MB buffers are unmapped when freed; with the 32 MiB threshold glibc's
    dynamic rule reaches in a run, freed buffers between live small arrays stay resident."""
    import subprocess

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt  # noqa: B018
    except (OSError, AttributeError):
        pytest.skip("missing resource: this C library has no mallopt (musl or another non-glibc libc)")

    def kept_mb(mode: str) -> float:
        out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
        return float(out.stdout.strip())

    assert MMAP_THRESHOLD_BYTES < 8_000_000
    assert kept_mb("configured") < 20.0
    assert kept_mb("default") > 100.0  # what the setting avoids (glibc keeps the freed heap)
