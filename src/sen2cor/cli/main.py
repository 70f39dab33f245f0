"""``L2A_Process``: the Sen2Cor 2.11-compatible command line.

The options, their names, help texts and defaults are those of Sen2Cor 2.11 (user manual §3.3.1), plus
``--version``. This module only parses, calls and maps errors to exit codes:

* 0 — success (or ``-h`` / ``--version``);
* 1 — any :class:`~sen2cor.errors.Sen2CorError` (bad option value, wrong input, bad GIPP, processing
  failure) or unexpected error: one line ``L2A_Process: error: <message>`` on stderr, a traceback only
  with ``--debug``; with several inputs (a batch, :mod:`sen2cor.pipeline.batch`): any tile failed — the
  summary table on stdout names each tile's outcome and error;
* 2 — the command line itself cannot be parsed (unknown option, missing argument, bad choice);
* 130 — interrupted (Ctrl-C).

The ``sys.exit`` lives in the console-script wrapper and in ``sen2cor/__main__.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, NoReturn

from sen2cor._version import __version__
from sen2cor.config.logsetup import configure_console, set_level
from sen2cor.config.pb_gipp import PROCESSOR_VERSION
from sen2cor.config.settings import MODES, RESOLUTIONS_M, L2ASettings, RunOptions, load_settings
from sen2cor.errors import ProcessingError, ProductError, Sen2CorError
from sen2cor.runtime import configure_process, freeze_imports

logger = logging.getLogger(__name__)

PROG: Final[str] = "L2A_Process"
"""Program name shown in usage and error lines (the console script's name)."""

DESCRIPTION: Final[str] = (
    f"sen2cor {__version__}, an open-source Sen2Cor {PROCESSOR_VERSION} compatible processor, "
    "supporting Level-1C product version 14.2 - 15.0."
)

EXIT_OK: Final[int] = 0
EXIT_FAILURE: Final[int] = 1
EXIT_USAGE: Final[int] = 2
EXIT_INTERRUPTED: Final[int] = 130
"""128 + SIGINT, the shell convention for Ctrl-C."""

L1C_PRODUCT_NAME: Final[re.Pattern[str]] = re.compile(r"^S2[ABC]_MSIL1C_.+\.SAFE$")
"""Compact-naming L1C user product folder (manual §3.3.2: the folder must start with ``S2?_*L1C*``)."""

L1C_TILE_NAME: Final[re.Pattern[str]] = re.compile(r"^L1C_\w+$")
"""Tile folder inside ``GRANULE`` of a compact L1C product."""

INPUT_NARGS: Final[str] = "+"
"""``nargs`` of ``input_dir``: one product, or several products / folders of products (a batch)."""

# (option, help) as printed by Sen2Cor 2.11 ``L2A_Process -h`` (manual §3.3.1); all default to None/False.
_VALUE_OPTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("--datastrip", "Datastrip folder"),
    ("--tile", "Tile folder"),
    ("--output_dir", "Output directory"),
    ("--work_dir", "Work directory"),
    ("--img_database_dir", "Database directory for L1C input images"),
    ("--res_database_dir", "Database directory for results and temporary products"),
    ("--processing_centre", 'Processing centre as regex: ^[A-Z_]{4}$, e.g. "SGS_"'),
    ("--archiving_centre", 'Archiving centre as regex: ^[A-Z_]{4}$, e.g. "SGS_"'),
    ("--processing_baseline", 'Processing baseline in the format: "dd.dd", where d=[0:9]'),
)
_FLAG_OPTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("--raw", "Export raw images in rawl format with ENVI hdr"),
    ("--tif", "Export raw images in TIFF format instead of JPEG-2000"),
    ("--sc_only", "Performs only the scene classification at 60 or 20m resolution"),
    ("--sc_classic", "Performs scene classification in Sen2Cor 2.9 mode"),
    ("--sc_cog", "Export SCL image in COG format instead of JPEG_2000"),
    ("--cr_only", "Performs only the creation of the L2A product tree, no processing"),
    ("--debug", "Performs in debug mode"),
)
_GIPP_OPTIONS: Final[tuple[tuple[str, str], ...]] = (
    ("--GIP_L2A", "Select the user GIPP"),
    ("--GIP_L2A_SC", "Select the scene classification GIPP"),
    ("--GIP_L2A_AC", "Select the atmospheric correction GIPP"),
    ("--GIP_L2A_PB", "Select the processing baseline GIPP"),
)


class _UsageError(Exception):
    """The command line cannot be parsed (argparse ``error``)."""


class _ParserExitError(Exception):
    """argparse finished on its own (``-h``, ``--version``) with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """ArgumentParser that raises instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._print_message(message, sys.stderr)
        raise _ParserExitError(status)


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a number >= 1")
    return number


def build_parser(with_input: bool = True) -> argparse.ArgumentParser:
    """Build the ``L2A_Process`` parser.

    Parameters
    ----------
    with_input
        Include the positional ``input_dir`` (toolbox mode; Sen2Cor drops it for the PDGS ``--mode`` runs).
    """
    parser = _Parser(prog=PROG, description=DESCRIPTION)
    if with_input:
        parser.add_argument("input_dir", nargs=INPUT_NARGS, help="Directory of Level-1C input")
    parser.add_argument(
        "--mode", metavar="MODE", choices=MODES, help="Mode: generate_datastrip, process_tile"
    )
    parser.add_argument(
        "--resolution",
        type=int,
        choices=RESOLUTIONS_M,
        help="Target resolution, can be 10, 20 or 60m. If omitted, "
        "only 20 and 10m resolutions will be processed",
    )
    for option, text in _VALUE_OPTIONS:
        parser.add_argument(option, help=text)
    for option, text in _FLAG_OPTIONS:
        parser.add_argument(option, action="store_true", help=text)
    for option, text in _GIPP_OPTIONS:
        parser.add_argument(option, help=text)
    parser.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="Several inputs: number of tiles processed at once in local worker processes "
        "(default: min(CPUs, Nr_Threads, available memory / 3 GB))",
    )
    parser.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="Several inputs: process them as one task per tile on this existing Dask distributed "
        "scheduler, e.g. tcp://host:8786 (the workers need the package and the shared storage)",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} (sen2cor {__version__}), compatible with Sen2Cor {PROCESSOR_VERSION}",
    )
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv`` as Sen2Cor does: ``input_dir`` is required unless a PDGS ``--mode`` is given."""
    probe = _Parser(prog=PROG, add_help=False)
    probe.add_argument("--mode")
    known, _ = probe.parse_known_args(argv)
    return build_parser(with_input=known.mode not in MODES).parse_args(argv)


def _absolute(value: str | None) -> Path | None:
    return None if value is None else Path(os.path.abspath(os.path.expanduser(value)))


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """Turn parsed arguments into :class:`RunOptions` (paths made absolute, values validated)."""
    inputs = getattr(args, "input_dir", None)
    return RunOptions(
        input_dir=_absolute(inputs[0] if isinstance(inputs, list) else inputs),
        mode=args.mode,
        resolution=args.resolution,
        datastrip=_absolute(args.datastrip),
        tile=_absolute(args.tile),
        output_dir=_absolute(args.output_dir),
        work_dir=_absolute(args.work_dir),
        img_database_dir=_absolute(args.img_database_dir),
        res_database_dir=_absolute(args.res_database_dir),
        processing_centre=args.processing_centre,
        archiving_centre=args.archiving_centre,
        processing_baseline=args.processing_baseline,
        raw=args.raw,
        tif=args.tif,
        sc_only=args.sc_only,
        sc_classic=args.sc_classic,
        sc_cog=args.sc_cog,
        cr_only=args.cr_only,
        debug=args.debug,
        gip_l2a=args.GIP_L2A,
        gip_l2a_sc=args.GIP_L2A_SC,
        gip_l2a_ac=args.GIP_L2A_AC,
        gip_l2a_pb=args.GIP_L2A_PB,
    )


def is_l1c_name(path: Path) -> bool:
    """``path`` is named like an L1C product folder or one of its ``GRANULE/L1C_*`` tile folders."""
    if L1C_PRODUCT_NAME.match(path.name):
        return True
    return bool(
        L1C_TILE_NAME.match(path.name)
        and path.parent.name == "GRANULE"
        and L1C_PRODUCT_NAME.match(path.parent.parent.name)
    )


def batch_inputs(paths: Sequence[Path]) -> list[Path] | None:
    """The inputs of a batch, or ``None`` when ``paths`` is one product (or tile) to process on its own.

    Several paths, or one folder that is not itself an L1C product, make a batch: each path is an L1C
    product or tile folder, or a folder whose ``S2?_MSIL1C_*.SAFE`` sub-folders are taken (sorted by name).
    Duplicates are dropped.

    Raises
    ------
    ProductError
        A path does not exist, or is neither an L1C product nor a folder holding any.
    """
    if len(paths) == 1 and (is_l1c_name(paths[0]) or not paths[0].is_dir()):
        return None
    inputs: list[Path] = []
    for path in paths:
        if is_l1c_name(path) or not path.is_dir():
            check_input_dir(path)
            found = [path]
        else:
            found = sorted(p for p in path.iterdir() if L1C_PRODUCT_NAME.match(p.name) and p.is_dir())
            if not found:
                raise ProductError(
                    f"input_dir: '{path}' is not a Level-1C product and holds none; expected a folder "
                    "named S2A/S2B/S2C_MSIL1C_*.SAFE, one of its GRANULE/L1C_* tile folders, "
                    "or a folder of such products"
                )
        inputs.extend(p for p in found if p not in inputs)
    return inputs


def check_input_dir(path: Path) -> None:
    """Cheap check of the toolbox input: an existing L1C product folder or one of its tile folders.

    The full check (metadata, band files) is done by the Level-1C reader.

    Raises
    ------
    ProductError
        The path does not exist, is not a folder, or is not named like an L1C product / tile.
    """
    if not path.exists():
        raise ProductError(f"input_dir: '{path}' does not exist")
    if not path.is_dir():
        raise ProductError(f"input_dir: '{path}' is not a directory")
    if is_l1c_name(path):
        return
    raise ProductError(
        f"input_dir: '{path}' is not a Level-1C product; expected a folder named S2A/S2B/S2C_MSIL1C_*.SAFE "
        "or one of its GRANULE/L1C_* tile folders"
    )


def _check_inputs(options: RunOptions) -> None:
    options.check_required()
    if options.input_dir is not None:
        check_input_dir(options.input_dir)
    for name in ("datastrip", "tile"):
        path = getattr(options, name)
        if options.mode is not None and path is not None and not path.is_dir():
            raise ProductError(f"--{name}: '{path}' does not exist or is not a directory")


def _pipeline_run() -> Callable[[RunOptions, L2ASettings], object]:
    """Import the processing entry point lazily (the CLI works even where it is missing)."""
    try:
        from sen2cor.pipeline.run import run
    except ModuleNotFoundError as exc:
        if exc.name in ("sen2cor.pipeline", "sen2cor.pipeline.run"):
            raise ProcessingError("the processing chain (sen2cor.pipeline.run) is not available") from exc
        raise
    return run  # type: ignore[no-any-return]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")).strip()
    return text or type(exc).__name__


def _error_line(line: str) -> None:
    """Write one line of user output to stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _fail(message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc(file=sys.stderr)
    _error_line(f"{PROG}: error: {message}")
    return EXIT_FAILURE


def _run_batch(args: argparse.Namespace, inputs: Sequence[Path], settings: L2ASettings) -> int:
    """Process several inputs in parallel; print the summary table; 0 if every tile succeeded, else 1."""
    from sen2cor.pipeline.batch import BatchProgress, exit_code, format_summary, run_batch

    progress: BatchProgress | None = None
    if sys.stdout.isatty() and os.environ.get("TERM", "") != "dumb":
        from sen2cor.cli.batch_display import TerminalProgress

        progress = TerminalProgress(sys.stdout)
    logger.info(
        "%s started: sen2cor %s (Sen2Cor %s compatible), %d inputs",
        PROG, __version__, PROCESSOR_VERSION, len(inputs),
    )  # fmt: skip
    start = time.perf_counter()
    outcomes = run_batch(
        inputs, settings, workers=args.workers, scheduler=args.dask_scheduler, progress=progress
    )
    wall = time.perf_counter() - start
    logger.info("%s finished in %.1f s", PROG, wall)
    if args.debug:
        for outcome in outcomes:
            if outcome.traceback:
                sys.stderr.write(f"{outcome.label}: {outcome.traceback}")
    sys.stdout.write(format_summary(outcomes, wall) + "\n")
    sys.stdout.flush()
    failed = [o.label for o in outcomes if not o.ok]
    if failed:
        _error_line(f"{PROG}: error: {len(failed)} of {len(outcomes)} tiles failed: {', '.join(failed)}")
    return exit_code(outcomes)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``L2A_Process`` with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(arguments)
    except _ParserExitError as done:
        return done.status
    except _UsageError as exc:
        _error_line(f"{PROG}: error: {exc}")
        return EXIT_USAGE
    debug = bool(args.debug)
    try:
        options = options_from_args(args)
        given = getattr(args, "input_dir", None)
        paths = [Path(os.path.abspath(os.path.expanduser(p))) for p in given or ()]
        inputs = batch_inputs(paths) if paths else None
        if inputs is None:
            _check_inputs(options)
        else:
            options.check_required()
        configure_console("DEBUG" if debug else "INFO")
        settings = load_settings(options)
        configure_process()
        set_level(settings.log_level)
        if inputs is not None:
            return _run_batch(args, inputs, settings)
        run = _pipeline_run()
        freeze_imports()
        logger.info("%s started: sen2cor %s (Sen2Cor %s compatible)", PROG, __version__, PROCESSOR_VERSION)
        start = time.perf_counter()
        result = run(options, settings)
        logger.info("%s finished in %.1f s", PROG, time.perf_counter() - start)
    except KeyboardInterrupt:
        _error_line(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except Sen2CorError as exc:
        return _fail(_one_line(exc), debug)
    except Exception as exc:
        hint = "" if debug else " (run with --debug for the traceback)"
        return _fail(f"internal error: {type(exc).__name__}: {_one_line(exc)}{hint}", debug)
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return EXIT_OK
