"""MD5 of the product's files computed in the background while the chain runs (``manifest.safe``)."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from sen2cor.io.l2a import checksums
from sen2cor.io.l2a.checksums import BackgroundChecksums, md5_of

pytestmark = pytest.mark.skipif(not checksums.idle_scheduling_available(),
                                reason="missing resource: an idle scheduling class (Linux SCHED_IDLE)")


def _wait_known(sums: BackgroundChecksums, path: Path, timeout: float = 10.0) -> str:
    end = time.monotonic() + timeout
    while (digest := sums.known(path)) is None:
        assert time.monotonic() < end, f"{path.name} was not checksummed"
        time.sleep(0.01)
    return digest


def test_files_handed_over_are_checksummed_on_an_idle_priority_thread(tmp_path: Path) -> None:
    """Each file's MD5 is computed in the background, on a thread of the idle scheduling class; a file
    changed since (size or time) is not taken as known; after ``close`` nothing more is computed."""
    files = []
    for k, size in enumerate((0, 1000, 3 * checksums.CHUNK_BYTES + 17)):
        f = tmp_path / f"f{k}.jp2"
        f.write_bytes(os.urandom(size))
        files.append(f)
    sums = BackgroundChecksums()
    for f in files:
        sums.add(f)
    for f in files:
        assert _wait_known(sums, f) == hashlib.md5(f.read_bytes(), usedforsecurity=False).hexdigest()
    assert sums._thread is not None
    policy = (Path(f"/proc/self/task/{sums._thread.native_id}/sched").read_text().split("policy")[1]
              .split("\n")[0].split(":")[1].strip())
    assert int(policy) == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the caller's thread keeps its class
    assert threading.current_thread() is threading.main_thread()

    files[1].write_bytes(b"changed")  # another size: the stored checksum no longer applies
    assert sums.known(files[1]) is None
    sums.close()
    late = tmp_path / "late.jp2"
    late.write_bytes(b"after close")
    sums.add(late)
    assert sums.known(late) is None and sums._thread is None


def test_md5_of_stops_when_asked(tmp_path: Path) -> None:
    f = tmp_path / "big.jp2"
    f.write_bytes(b"x" * (2 * checksums.CHUNK_BYTES))
    assert md5_of(f, lambda: True) is None
    assert md5_of(f) == hashlib.md5(f.read_bytes(), usedforsecurity=False).hexdigest()
