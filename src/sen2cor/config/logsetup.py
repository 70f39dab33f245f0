"""Logging handlers of an ``L2A_Process`` run: the console, and a per-run log file.

Library modules only call ``logging.getLogger(__name__)``; the package logger ``sen2cor`` has a
``NullHandler``. The CLI installs the console handler with :func:`configure_console` and sets the level
from the GIPP ``Log_Level`` (``--debug`` forces DEBUG) with :func:`set_level`. The pipeline may add a
log file for the duration of one run with :func:`run_log_file`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TextIO

PACKAGE_LOGGER: Final[str] = "sen2cor"
"""Name of the logger all package modules log below."""

CONSOLE_FORMAT: Final[str] = "%(asctime)s %(levelname)s: %(message)s"
FILE_FORMAT: Final[str] = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT: Final[str] = "%Y-%m-%dT%H:%M:%S"


class _ConsoleHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marker type so that :func:`configure_console` replaces, never duplicates, its handler."""


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level
    number = logging.getLevelName(level.upper())
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}")
    return number


def configure_console(level: str | int = "INFO", stream: TextIO | None = None) -> logging.Handler:
    """Install (or replace) the console handler on the ``sen2cor`` logger.

    Parameters
    ----------
    level
        Level name (``"INFO"``…) or number.
    stream
        Where to write; default :data:`sys.stdout` (stderr is kept for the one-line error of the CLI).

    Returns
    -------
    logging.Handler
        The installed handler.
    """
    package = logging.getLogger(PACKAGE_LOGGER)
    for handler in [h for h in package.handlers if isinstance(h, _ConsoleHandler)]:
        package.removeHandler(handler)
    handler = _ConsoleHandler(sys.stdout if stream is None else stream)
    handler.setFormatter(logging.Formatter(CONSOLE_FORMAT, DATE_FORMAT))
    package.addHandler(handler)
    set_level(level)
    return handler


def set_level(level: str | int) -> None:
    """Set the level of the ``sen2cor`` logger (e.g. from the GIPP ``Log_Level``)."""
    logging.getLogger(PACKAGE_LOGGER).setLevel(_level_number(level))


@contextmanager
def run_log_file(path: Path, level: str | int | None = None) -> Iterator[logging.Handler]:
    """Also write the package log to ``path`` while the ``with`` block runs.

    Parameters
    ----------
    path
        Log file (created, parent folders included; appended to if it exists).
    level
        Handler level; default: everything the ``sen2cor`` logger lets through.

    Yields
    ------
    logging.Handler
        The file handler, removed and closed on exit.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FILE_FORMAT, DATE_FORMAT))
    if level is not None:
        handler.setLevel(_level_number(level))
    package = logging.getLogger(PACKAGE_LOGGER)
    package.addHandler(handler)
    try:
        yield handler
    finally:
        package.removeHandler(handler)
        handler.close()
