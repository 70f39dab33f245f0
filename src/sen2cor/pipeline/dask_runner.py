"""Many tiles on an existing Dask distributed cluster: one task per tile (issue 8 item 3).

The workers need only the package (``pip install sen2cor``) and the storage holding the inputs and outputs
at the same paths.  A tile needs up to about 2 GB and uses its own JPEG 2000 threads (GIPP ``Nr_Threads``),
so workers started with one thread each (``dask worker --nthreads 1``) suit it best.

Each task is :func:`sen2cor.pipeline.batch.process_tile`; progress comes from Dask's
own machinery: the tasks' futures for completion, and Dask's structured events (``Worker.log_event`` /
``Client.subscribe_topic``) for "tile started" and the tile's log lines.  ``distributed`` is imported only
here, when a scheduler address is given.
"""

from __future__ import annotations

import logging
import queue
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

from sen2cor.errors import ProcessingError
from sen2cor.pipeline.batch import (
    BatchProgress,
    TileEvent,
    TileOutcome,
    TileTask,
    drive,
    one_line,
    process_tile,
)

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final[int] = 20
"""How long to wait for the scheduler before giving up."""


@dataclass(frozen=True)
class DaskReport:
    """Picklable ``report`` publishing a tile's events on a Dask event topic from inside a worker."""

    topic: str

    def __call__(self, event: TileEvent) -> None:
        from distributed import get_worker

        try:
            worker = get_worker()
        except ValueError:  # not inside a Dask worker (e.g. a local test): nowhere to report
            return
        worker.log_event(self.topic, asdict(event))


_EVENT_FIELDS: Final[frozenset[str]] = frozenset(f.name for f in fields(TileEvent))


def _event(message: dict[str, Any]) -> TileEvent:
    """A :class:`TileEvent` from a Dask event message (Dask sets ``worker`` to the worker's address)."""
    return TileEvent(**{k: v for k, v in message.items() if k in _EVENT_FIELDS})


def _check_reachable(address: str) -> None:
    """Fail fast, before a client exists, on an unknown scheme or when nothing listens at a TCP address.

    (A client whose connection failed takes its whole close timeout to be garbage-collected.)
    """
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    scheme, location = parse_address(address)
    get_backend(scheme)  # ValueError: unknown address scheme
    if scheme not in ("tcp", "tls"):
        return
    host, port = parse_host_port(location)
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
        pass


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ProcessingError(
            "--dask-scheduler needs dask distributed: pip install 'dask[distributed]'"
        ) from exc
    try:
        _check_reachable(address)
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ProcessingError(f"--dask-scheduler: cannot connect to '{address}': {one_line(exc)}") from exc


def _wait_events(events: queue.SimpleQueue[TileEvent]) -> Callable[[float], list[TileEvent]]:
    def wait_events(timeout: float) -> list[TileEvent]:
        try:
            received = [events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                received.append(events.get_nowait())
            except queue.Empty:
                return received

    return wait_events


def run_on_dask(tasks: Sequence[TileTask], address: str, progress: BatchProgress) -> list[TileOutcome]:
    """Submit one task per tile to the Dask scheduler at ``address`` and wait for all of them.

    All tiles are submitted at once: the scheduler decides where and when each runs.

    Returns
    -------
    list of TileOutcome
        In the order of ``tasks``; a tile whose task failed on the cluster (worker lost, package missing
        there) is a failed outcome like one whose processing failed.

    Raises
    ------
    ProcessingError
        The scheduler cannot be reached.
    """
    client = _connect(address)
    topic = f"sen2cor-batch-{uuid.uuid4().hex}"
    events: queue.SimpleQueue[TileEvent] = queue.SimpleQueue()
    futures: list[Any] = []
    report = DaskReport(topic)

    def submit(task: TileTask) -> Any:
        key = f"sen2cor-{task.label}-{topic[-8:]}"
        future = client.submit(process_tile, task, report, shared_process=True, key=key, pure=False)
        futures.append(future)
        return future

    with client:
        client.subscribe_topic(topic, lambda event: events.put(_event(event[1])))
        try:
            n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            progress.start([t.label for t in tasks], f"Dask scheduler {address} ({n_workers} workers)")
            return drive(tasks, submit, len(tasks), _wait_events(events), progress)
        except BaseException:
            client.cancel(futures)
            raise
        finally:
            client.unsubscribe_topic(topic)
            progress.close()
