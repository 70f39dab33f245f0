"""Terminal progress display of a batch (several tiles): lines rewritten in place, no extra dependency.

The block at the bottom shows one line per running tile (elapsed time and the tile's latest log message)
and one overall line (bar, done/running/queued/failed, elapsed).  Finished tiles, and warnings or errors
logged by a tile, are written above the block and stay in the scroll-back.  Used by ``L2A_Process`` when
standard output is a terminal; otherwise :class:`sen2cor.pipeline.batch.LogProgress` writes plain log lines.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Sequence
from typing import Final, TextIO

from sen2cor.pipeline.batch import TileEvent, TileOutcome

UP_AND_CLEAR: Final[str] = "\x1b[1A\x1b[2K"
"""ANSI: cursor one line up, erase that line."""

BAR_WIDTH: Final[int] = 20


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class TerminalProgress:
    """A :class:`~sen2cor.pipeline.batch.BatchProgress` rewriting a few lines of a terminal.

    Parameters
    ----------
    stream
        The terminal (standard output).
    min_interval_s
        Shortest time between two redraws of the block.
    clock
        Monotonic clock (injected for tests).
    """

    def __init__(
        self, stream: TextIO, min_interval_s: float = 0.2, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._interval = min_interval_s
        self._clock = clock
        self._total = 0
        self._done = 0
        self._failed = 0
        self._begin = clock()
        self._running: dict[str, tuple[float, str]] = {}
        self._finished: set[str] = set()
        self._drawn = 0
        self._last_draw = float("-inf")

    def start(self, labels: Sequence[str], where: str) -> None:
        self._total = len(labels)
        self._begin = self._clock()
        self._above(f"Processing {self._total} tiles on {where}")

    def event(self, event: TileEvent) -> None:
        if event.label in self._finished:  # late event (Dask events travel apart from the results)
            return
        if event.kind == "started":
            self._running[event.label] = (self._clock(), "started")
        else:
            since = self._running.get(event.label, (self._clock(), ""))[0]
            self._running[event.label] = (since, event.message)
            if event.level >= logging.WARNING:
                self._above(f"[{event.label}] {logging.getLevelName(event.level)}: {event.message}")
                return
        self.tick()

    def finished(self, outcome: TileOutcome) -> None:
        self._running.pop(outcome.label, None)
        self._finished.add(outcome.label)
        self._done += 1
        self._failed += not outcome.ok
        detail = outcome.output if outcome.ok else outcome.error
        mark = "ok    " if outcome.ok else "FAILED"
        self._above(f"{mark} {outcome.label}  {outcome.seconds:.1f} s  {detail}")

    def tick(self) -> None:
        if self._clock() - self._last_draw >= self._interval:
            self._draw()

    def close(self) -> None:
        self._clear()
        self._stream.flush()

    def _lines(self) -> list[str]:
        now = self._clock()
        width = max(20, shutil.get_terminal_size().columns - 1)
        label_width = max((len(label) for label in self._running), default=0)
        lines = [
            f"  {label:<{label_width}}  {_clock(now - since)}  {message}"[:width]
            for label, (since, message) in self._running.items()
        ]
        filled = BAR_WIDTH * self._done // max(1, self._total)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        queued = self._total - self._done - len(self._running)
        lines.append(
            f"[{bar}] {self._done}/{self._total} tiles done, {len(self._running)} running, {queued} queued, "
            f"{self._failed} failed  {_clock(now - self._begin)}"[:width]
        )
        return lines

    def _clear(self) -> None:
        self._stream.write(UP_AND_CLEAR * self._drawn)
        self._drawn = 0

    def _draw(self) -> None:
        lines = self._lines()
        self._clear()
        self._stream.write("".join(line + "\n" for line in lines))
        self._stream.flush()
        self._drawn = len(lines)
        self._last_draw = self._clock()

    def _above(self, line: str) -> None:
        self._clear()
        self._stream.write(line + "\n")
        self._draw()
