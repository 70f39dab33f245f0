"""MD5 checksums of the product's files for ``manifest.safe``, computed while the chain still runs.

``manifest.safe`` lists every file with its MD5 (:mod:`sen2cor.io.l2a.manifest`), so it is written last.
On a full tile the images are 1.3 GB: 1.7 CPU-s of MD5 after the last image, ≈ 1 s of wall time at the end
of every run.  :class:`BackgroundChecksums` takes each image as soon as it is written and checksums it on a
thread of idle priority (Linux ``SCHED_IDLE``): it runs only on a core the chain leaves idle (waiting for
its last image, docs/benchmarks.md, session 23), and the file is still in the page cache.  The manifest
takes the checksums of the files that have not changed since (same size and modification time) and
computes the others itself.  Where the platform has no idle scheduling class nothing runs in the
background.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

CHUNK_BYTES: Final[int] = 1 << 20
"""Bytes read and hashed at a time (hashlib releases the GIL on such buffers)."""


def md5_of(path: Path, stop: Callable[[], bool] = lambda: False) -> str | None:
    """Hex MD5 of the file at ``path``; None if ``stop()`` turns true on the way."""
    h = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_BYTES), b""):
            if stop():
                return None
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def idle_scheduling_available() -> bool:
    """Whether a thread can be put in the idle scheduling class (Linux ``SCHED_IDLE``)."""
    return hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE")


class BackgroundChecksums:
    """MD5 of files handed over with :meth:`add`, computed on one idle-priority thread (module docstring).

    :meth:`known` gives a file's checksum if it was computed and the file is unchanged since; :meth:`close`
    stops the thread (a file being hashed is given up).  Without idle scheduling, :meth:`add` does nothing.
    """

    def __init__(self) -> None:
        self._enabled = idle_scheduling_available()
        self._queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._done: dict[Path, tuple[tuple[int, int], str]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, path: Path) -> None:
        """Checksum ``path`` (a finished file) in the background."""
        if not self._enabled or self._stop.is_set():
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sen2cor-checksums", daemon=True)
            self._thread.start()
        self._queue.put(Path(path))

    def known(self, path: Path) -> str | None:
        """The checksum of ``path`` computed in the background, if the file has not changed since."""
        with self._lock:
            entry = self._done.get(Path(path))
        if entry is None:
            return None
        try:
            return entry[1] if _stamp(Path(path)) == entry[0] else None
        except OSError:
            return None

    def close(self) -> None:
        """Stop the background thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # this thread only (Linux)
        except OSError as exc:  # e.g. a restricted container: leave the work to the manifest
            logger.debug("no idle scheduling for the checksums thread (%s)", exc)
            return
        while (path := self._queue.get()) is not None:
            try:
                before = _stamp(path)
                digest = md5_of(path, self._stop.is_set)
                if digest is not None and _stamp(path) == before:
                    with self._lock:
                        self._done[path] = (before, digest)
            except OSError:  # removed or replaced meanwhile: the manifest computes it
                continue
