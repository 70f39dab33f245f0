"""Many tiles: run the single-product chain on several Level-1C inputs in parallel (issue 8 item 3).

Each input becomes one :class:`TileTask` processed by :func:`process_tile` — the same single-product
function (``sen2cor.pipeline.run.run``, imported inside the worker so it is resolved at run time) wrapped so
that a failing tile returns a failed :class:`TileOutcome` instead of raising.  Tiles run in local worker
processes, a few at a time (:mod:`sen2cor.pipeline.local_runner`, the default), or as one task per tile on
an existing Dask distributed cluster (:mod:`sen2cor.pipeline.dask_runner`); :func:`drive` is the loop both
share.  Workers report what they are doing as :class:`TileEvent` values
(start, log records) through a picklable ``report`` callable; the orchestrating process feeds them to a
:class:`BatchProgress` display (the default, :class:`LogProgress`, writes plain log lines).
"""

from __future__ import annotations

import collections
import importlib
import logging
import os
import re
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Literal, Protocol

from sen2cor.config.settings import L2ASettings
from sen2cor.errors import ConfigError, ProcessingError, Sen2CorError
from sen2cor.runtime import configure_process, freeze_imports

logger = logging.getLogger(__name__)

TILE_MEMORY_BYTES: Final[int] = 3 * 2**30
"""Memory budgeted per concurrently processed tile (3 GiB: a full tile's default run peaks at 2.8 GB,
docs/benchmarks.md)."""

POLL_S: Final[float] = 0.2
"""How often the orchestrator wakes up to refresh the display while waiting for tiles."""

_PRODUCT_LABEL: Final[re.Pattern[str]] = re.compile(r"^S2[ABC]_MSIL1C_(\d{8}T\d{6})_N\d{4}_R\d{3}_T(\w{5})_")
"""Compact L1C product name → datatake start and tile id (label ``T<tile>_<datatake>``)."""

_TILE_LABEL: Final[re.Pattern[str]] = re.compile(r"^L1C_(T\w{5}_A\d{6}_\d{8}T\d{6})$")
"""``GRANULE/L1C_*`` tile folder name → label."""

DEFAULT_ENTRY: Final[str] = "sen2cor.pipeline.run:run"
"""The single-product chain ``run(options, settings) -> L2A product path``, as ``module:function``."""

SUMMARY_RULE_MAX: Final[int] = 100
"""Longest horizontal rule of the summary table (errors may be much longer than a terminal line)."""

Report = Callable[["TileEvent"], None]
"""Where a worker sends its :class:`TileEvent` values (must be picklable to reach the worker)."""

Outcome = Literal["ok", "failed"]


@dataclass(frozen=True)
class TileTask:
    """One tile of a batch: its display label, the settings of its single-product run, and the function."""

    label: str
    settings: L2ASettings
    """Batch settings whose ``options.input_dir`` is this tile's input."""
    entry: str = DEFAULT_ENTRY
    """``module:function`` run on the tile, imported in the worker at run time."""

    @property
    def input_dir(self) -> Path:
        path = self.settings.options.input_dir
        if path is None:  # pragma: no cover - guarded by make_tasks
            raise ConfigError(f"tile {self.label}: no input_dir")
        return path


@dataclass(frozen=True)
class TileEvent:
    """Something a worker tells the orchestrator about a tile while processing it."""

    label: str
    kind: Literal["started", "log"]
    message: str = ""
    level: int = logging.INFO
    logger_name: str = ""
    worker: str = ""
    """``host:pid`` of the process running the tile."""


@dataclass(frozen=True)
class TileOutcome:
    """How one tile of a batch ended."""

    label: str
    input_dir: Path
    outcome: Outcome
    seconds: float
    """Wall time of the tile's processing in its worker (0 when it never started)."""
    output: Path | None = None
    """The L2A product written (``None`` if the chain returned none or the tile failed)."""
    error: str = ""
    """One-line error of a failed tile."""
    worker: str = ""
    traceback: str = ""
    """Formatted traceback of a failed tile (shown with ``--debug``)."""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


class BatchProgress(Protocol):
    """Display of a batch's progress; called only from the orchestrating process's main thread."""

    def start(self, labels: Sequence[str], where: str) -> None: ...

    def event(self, event: TileEvent) -> None: ...

    def finished(self, outcome: TileOutcome) -> None: ...

    def tick(self) -> None: ...

    def close(self) -> None: ...


class LogProgress:
    """Plain log lines per tile and overall (the display when the output is not a terminal)."""

    def __init__(self) -> None:
        self._total = 0
        self._done = 0
        self._failed = 0

    def start(self, labels: Sequence[str], where: str) -> None:
        self._total = len(labels)
        logger.info("Processing %d tiles on %s", self._total, where)

    def event(self, event: TileEvent) -> None:
        if event.kind == "started":
            logger.info("[%s] started on %s", event.label, event.worker)
        else:
            logging.getLogger(event.logger_name or __name__).log(
                event.level, "[%s] %s", event.label, event.message
            )

    def finished(self, outcome: TileOutcome) -> None:
        self._done += 1
        self._failed += not outcome.ok
        detail = outcome.output if outcome.ok else outcome.error
        logger.log(
            logging.INFO if outcome.ok else logging.ERROR,
            "[%s] %s in %.1f s: %s (%d/%d tiles done, %d failed)",
            outcome.label, outcome.outcome, outcome.seconds, detail, self._done, self._total, self._failed,
        )  # fmt: skip

    def tick(self) -> None:
        pass

    def close(self) -> None:
        pass


def one_line(exc: BaseException) -> str:
    """An exception as one line: the message of a :class:`Sen2CorError`, else ``Type: message``."""
    text = " ".join(str(exc).split())
    if isinstance(exc, Sen2CorError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def tile_label(path: Path) -> str:
    """Short name of an input for the display: ``T<tile>_<datatake start>``, else the folder name."""
    match = _PRODUCT_LABEL.match(path.name)
    if match:
        return f"T{match.group(2)}_{match.group(1)}"
    match = _TILE_LABEL.match(path.name)
    if match:
        return match.group(1)
    return path.name.removesuffix(".SAFE")


def make_tasks(
    inputs: Sequence[Path],
    settings: L2ASettings,
    nr_threads: int | None = None,
    entry: str = DEFAULT_ENTRY,
) -> list[TileTask]:
    """One task per input with unique labels; ``nr_threads`` overrides the GIPP ``Nr_Threads`` per tile."""
    short = [tile_label(p) for p in inputs]
    pairs = zip(short, inputs, strict=True)
    named = [label if short.count(label) == 1 else path.name for label, path in pairs]
    seen: dict[str, int] = {}
    labels: list[str] = []
    for label in named:  # the same product in two folders: number the repeats
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    user = settings.user if nr_threads is None else replace(settings.user, nr_threads=nr_threads)

    def settings_for(path: Path) -> L2ASettings:
        return replace(settings, user=user, options=replace(settings.options, input_dir=path))

    return [TileTask(label, settings_for(path), entry) for label, path in zip(labels, inputs, strict=True)]


def available_memory_bytes() -> int | None:
    """Memory available for new processes (``MemAvailable`` on Linux, else free pages), or ``None``."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_workers(settings: L2ASettings, n_tiles: int, memory_bytes: int | None = None) -> int:
    """Memory-aware worker count: ``min(CPUs, Nr_Threads, available memory / 3 GiB, tiles)``, at least 1.

    Parameters
    ----------
    settings
        Batch settings (``Nr_Threads`` of the user GIPP; AUTO = CPU count capped at 8).
    n_tiles
        Number of tiles in the batch.
    memory_bytes
        Available memory; default :func:`available_memory_bytes`.
    """
    memory = available_memory_bytes() if memory_bytes is None else memory_bytes
    by_memory = n_tiles if memory is None else memory // TILE_MEMORY_BYTES
    return max(1, min(cpu_count(), settings.nr_threads, by_memory, n_tiles))


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _ForwardHandler(logging.Handler):
    """Sends the package's log records of one tile to the orchestrator as :class:`TileEvent` values.

    With ``thread`` set, only the records of that thread are sent (a Dask worker process may run several
    tiles in its threads at once, and the package logger is shared by them).
    """

    def __init__(self, label: str, report: Report, worker: str, thread: int | None = None) -> None:
        super().__init__()
        self._label, self._report, self._worker, self._thread = label, report, worker, thread

    def emit(self, record: logging.LogRecord) -> None:
        if self._thread is not None and record.thread != self._thread:
            return
        try:
            event = TileEvent(
                self._label, "log", record.getMessage(), record.levelno, record.name, self._worker
            )
            self._report(event)
        except Exception:  # a display problem must never fail the tile
            self.handleError(record)


def resolve_entry(entry: str) -> Callable[..., object]:
    """Import ``module:function`` (in the worker, so that it is resolved at run time).

    Raises
    ------
    ProcessingError
        The module or the function does not exist.
    """
    module_name, _, name = entry.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise ProcessingError(f"the processing chain ({module_name}) is not available") from exc
        raise
    except AttributeError as exc:
        raise ProcessingError(f"the processing chain ({module_name}) has no function {name!r}") from exc
    return function  # type: ignore[no-any-return]


def process_tile(
    task: TileTask, report: Report | None = None, *, shared_process: bool = False
) -> TileOutcome:
    """Run the single-product chain on one tile; never raises for a failing tile.

    Runs in a worker (local process or Dask worker).  While it runs, the ``sen2cor`` log records of this
    tile are sent to ``report`` at the batch's log level; with ``shared_process`` (other tiles may run in
    other threads of the same process) only the records of the calling thread.

    Returns
    -------
    TileOutcome
        ``ok`` with the L2A product path the chain returned, or ``failed`` with the one-line error.
    """
    configure_process()
    worker = _worker_name()
    package = logging.getLogger("sen2cor")
    thread = threading.get_ident() if shared_process else None
    handler = None if report is None else _ForwardHandler(task.label, report, worker, thread)
    old_level = package.level
    if report is not None and handler is not None:
        package.addHandler(handler)
        package.setLevel(task.settings.log_level)
        report(TileEvent(task.label, "started", worker=worker))
    start = time.perf_counter()
    try:
        chain = resolve_entry(task.entry)
        freeze_imports()
        start = time.perf_counter()  # the tile's time, without importing the chain
        result = chain(task.settings.options, task.settings)
    except Exception as exc:
        return TileOutcome(
            task.label, task.input_dir, "failed", time.perf_counter() - start, error=one_line(exc),
            worker=worker, traceback=traceback.format_exc(),
        )  # fmt: skip
    finally:
        if handler is not None:
            package.removeHandler(handler)
            package.setLevel(old_level)
    output = Path(result) if isinstance(result, (str, os.PathLike)) else None
    return TileOutcome(task.label, task.input_dir, "ok", time.perf_counter() - start, output, worker=worker)


class TileFuture(Protocol):
    """A submitted tile: a :class:`concurrent.futures.Future`-like handle (local process or Dask future)."""

    def done(self) -> bool: ...

    def result(self) -> TileOutcome: ...


def failed_outcome(task: TileTask, exc: BaseException) -> TileOutcome:
    """Outcome of a tile whose task itself failed (worker process died, task not deserialisable...)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return TileOutcome(task.label, task.input_dir, "failed", 0.0, error=one_line(exc), traceback=text)


def drive(
    tasks: Sequence[TileTask],
    submit: Callable[[TileTask], TileFuture],
    limit: int,
    wait_events: Callable[[float], list[TileEvent]],
    progress: BatchProgress,
) -> list[TileOutcome]:
    """Submit the tiles (at most ``limit`` at a time) and wait for all, feeding ``progress`` as they go.

    Parameters
    ----------
    tasks
        The tiles.
    submit
        Starts one tile and returns its handle.
    limit
        Most tiles submitted and not yet finished at any time.
    wait_events
        Waits up to the given seconds for worker events and returns those received (maybe none).
    progress
        The display.

    Returns
    -------
    list of TileOutcome
        In the order of ``tasks``; a handle whose ``result()`` raises gives a failed outcome.
    """
    queued = collections.deque(range(len(tasks)))
    running: dict[int, TileFuture] = {}
    outcomes: dict[int, TileOutcome] = {}
    while len(outcomes) < len(tasks):
        while queued and len(running) < limit:
            index = queued.popleft()
            running[index] = submit(tasks[index])
        for event in wait_events(POLL_S):
            progress.event(event)
        for index, future in list(running.items()):
            if not future.done():
                continue
            try:
                outcome = future.result()
            except Exception as exc:  # the task, not the tile, failed: worker lost, package missing...
                outcome = failed_outcome(tasks[index], exc)
            del running[index]
            outcomes[index] = outcome
            progress.finished(outcome)
        progress.tick()
    return [outcomes[i] for i in range(len(tasks))]


def run_batch(
    inputs: Sequence[Path],
    settings: L2ASettings,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: BatchProgress | None = None,
    entry: str | None = None,
) -> list[TileOutcome]:
    """Process several Level-1C inputs in parallel; one failing tile does not stop the others.

    Parameters
    ----------
    inputs
        L1C product (or tile) folders.
    settings
        Settings of the batch (GIPPs read once); each tile gets them with its own ``input_dir``.
    workers
        Tiles processed at once, each in its own local process; default :func:`default_workers`.
        Ignored with ``scheduler``.
    scheduler
        Address of an existing Dask distributed scheduler (``tcp://host:port``): one task per tile there.
    progress
        Display; default :class:`LogProgress`.
    entry
        ``module:function`` run on each tile; default :data:`DEFAULT_ENTRY`, the single-product chain.

    Returns
    -------
    list of TileOutcome
        In the order of ``inputs``.

    Raises
    ------
    ConfigError
        ``workers`` below 1.
    ProcessingError
        The Dask scheduler cannot be reached.
    """
    if not inputs:
        return []
    display = LogProgress() if progress is None else progress
    entry = DEFAULT_ENTRY if entry is None else entry
    if scheduler is not None:
        from sen2cor.pipeline.dask_runner import run_on_dask

        return run_on_dask(make_tasks(inputs, settings, entry=entry), scheduler, display)
    count = default_workers(settings, len(inputs)) if workers is None else workers
    if count < 1:
        raise ConfigError(f"--workers '{count}' is not allowed; expected a number of processes >= 1")
    count = min(count, len(inputs))
    # Share the CPUs between the processes: JPEG 2000 threads per tile = Nr_Threads / processes.
    threads = max(1, settings.nr_threads // count)
    logger.debug("%d local workers, %d JPEG 2000 threads each", count, threads)
    from sen2cor.pipeline.local_runner import run_local

    return run_local(make_tasks(inputs, settings, nr_threads=threads, entry=entry), count, display)


def exit_code(outcomes: Iterable[TileOutcome]) -> int:
    """0 when every tile succeeded, else 1."""
    return 0 if all(o.ok for o in outcomes) else 1


def format_summary(outcomes: Sequence[TileOutcome], wall_s: float | None = None) -> str:
    """The final summary table: tile, outcome, wall time, and the output path or the one-line error."""
    rows = [
        (o.label, o.outcome, f"{o.seconds:.1f}", str(o.output or "-") if o.ok else o.error) for o in outcomes
    ]
    header = ("Tile", "Outcome", "Wall (s)", "Output / error")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def line(row: tuple[str, str, str, str]) -> str:
        return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"

    failed = sum(not o.ok for o in outcomes)
    tiles = f"{len(outcomes)} tile" if len(outcomes) == 1 else f"{len(outcomes)} tiles"
    total = f"{tiles}: {len(outcomes) - failed} ok, {failed} failed"
    if wall_s is not None:
        total += f"; {wall_s:.1f} s wall for {sum(o.seconds for o in outcomes):.1f} s of tile processing"
    rule = "-" * min(SUMMARY_RULE_MAX, sum(widths) + 6 + max(len(header[3]), *(len(r[3]) for r in rows)))
    return "\n".join([line(header), rule, *(line(r) for r in rows), rule, total])
