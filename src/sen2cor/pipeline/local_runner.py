"""Many tiles in local worker processes, at most ``workers`` tiles at a time.

Each worker is a *spawned* process (never forked, so that GDAL's and numba's threads in the parent cannot
deadlock a child) that processes one tile after another, so the chain is imported once per worker.  A
worker talks to the parent through its own pipe: the parent sends a :class:`~sen2cor.pipeline.batch.TileTask`,
the worker sends the tile's :class:`~sen2cor.pipeline.batch.TileEvent` values and then its
:class:`~sen2cor.pipeline.batch.TileOutcome`.  The parent waits on all pipes at once.

A tile that kills its worker (out of memory, a crash in a native library) is reported as failed with the
signal; only that tile is lost, and the next tile gets a fresh worker.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Final

from sen2cor.errors import ProcessingError
from sen2cor.pipeline.batch import BatchProgress, TileEvent, TileOutcome, TileTask, drive, process_tile

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S: Final[float] = 10.0
"""How long an idle worker may take to exit when the batch is over before it is terminated."""


def _worker_main(connection: Connection) -> None:
    """Worker process: process the tiles the parent sends until it sends ``None`` or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the workers
    try:
        while True:
            try:
                task = connection.recv()
            except (EOFError, OSError):
                return
            if task is None:
                return
            connection.send(process_tile(task, connection.send))
    finally:
        connection.close()


def describe_exit(exitcode: int | None) -> str:
    """Why a worker process ended, in words (``-9`` → ``killed by SIGKILL (out of memory?)``)."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit code {exitcode}"


class LocalTile:
    """A tile handed to a local worker: a future-like handle (``done()``, ``result()``)."""

    def __init__(self, task: TileTask) -> None:
        self.task = task
        self.outcome: TileOutcome | None = None
        self.lost: str = ""
        """Why the worker died while processing this tile (empty while it has not)."""

    def done(self) -> bool:
        return self.outcome is not None or bool(self.lost)

    def result(self) -> TileOutcome:
        """The tile's outcome.

        Raises
        ------
        ProcessingError
            The worker process died while processing the tile.
        """
        if self.outcome is not None:
            return self.outcome
        raise ProcessingError(f"the worker process died: {self.lost or 'still running'}")


class _Worker:
    """One spawned worker process and its end of the pipe."""

    def __init__(self, context: Any) -> None:
        self.connection, child = context.Pipe(duplex=True)
        self.process = context.Process(target=_worker_main, args=(child,), name="sen2cor-worker", daemon=True)
        self.process.start()
        child.close()

    def stop(self, timeout: float) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # it died meanwhile
                self.connection.send(None)
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.connection.close()


class LocalWorkers:
    """Worker processes started on demand and reused; :meth:`submit` never runs more than one tile each."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._busy: dict[_Worker, LocalTile] = {}

    def submit(self, task: TileTask) -> LocalTile:
        """Hand ``task`` to an idle worker, or to a new one."""
        while self._idle:
            worker = self._idle.pop()
            try:
                worker.connection.send(task)
            except OSError:  # it died while idle
                worker.stop(0)
                continue
            return self._assign(worker, task)
        worker = _Worker(self._context)
        worker.connection.send(task)
        return self._assign(worker, task)

    def _assign(self, worker: _Worker, task: TileTask) -> LocalTile:
        tile = LocalTile(task)
        self._busy[worker] = tile
        return tile

    def wait_events(self, timeout: float) -> list[TileEvent]:
        """Wait up to ``timeout`` s for the busy workers; return the events they sent."""
        if not self._busy:
            time.sleep(timeout)
            return []
        ready = wait([worker.connection for worker in self._busy], timeout)
        events: list[TileEvent] = []
        for worker in [w for w in self._busy if w.connection in ready]:
            events.extend(self._read(worker))
        return events

    def _read(self, worker: _Worker) -> list[TileEvent]:
        tile = self._busy[worker]
        events: list[TileEvent] = []
        while worker.connection.poll():
            try:
                message = worker.connection.recv()
            except (EOFError, OSError):  # the worker died: this tile is lost, the worker is not reused
                worker.process.join()
                tile.lost = describe_exit(worker.process.exitcode)
                del self._busy[worker]
                worker.stop(0)
                logger.debug("worker for %s died: %s", tile.task.label, tile.lost)
                break
            if isinstance(message, TileOutcome):
                tile.outcome = message
                del self._busy[worker]
                self._idle.append(worker)
                break
            events.append(message)
        return events

    def stop(self) -> None:
        """Stop the idle workers, and terminate those still busy (after an error or Ctrl-C)."""
        for worker in self._idle:
            worker.stop(STOP_TIMEOUT_S)
        for worker in self._busy:
            worker.stop(0)
        self._idle.clear()
        self._busy.clear()


def run_local(tasks: Sequence[TileTask], workers: int, progress: BatchProgress) -> list[TileOutcome]:
    """Process ``tasks`` in at most ``workers`` local worker processes, one tile per worker at a time.

    Returns
    -------
    list of TileOutcome
        In the order of ``tasks``; a tile whose worker died is a failed outcome naming the signal.
    """
    pool = LocalWorkers()
    progress.start([t.label for t in tasks], f"{workers} local worker process(es)")
    try:
        return drive(tasks, pool.submit, workers, pool.wait_events, progress)
    finally:
        pool.stop()
        progress.close()
