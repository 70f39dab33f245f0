"""``SEN2COR_HOME``: the per-user configuration folder and the shipped GIPP templates.

As in Sen2Cor 2.11 (user manual §3.2.1), the user GIPP lives in ``$SEN2COR_HOME/cfg/L2A_GIPP.xml``.
On first use it is created from the shipped template; an existing file is never overwritten.
``--GIP_*`` arguments name a file directly or, failing that, a file inside ``$SEN2COR_HOME/cfg``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Final

from sen2cor.config.gipp_writer import GIPP_FILE_NAMES, USER_GIPP_NAME
from sen2cor.errors import ConfigError

logger = logging.getLogger(__name__)

SEN2COR_HOME_ENV: Final[str] = "SEN2COR_HOME"
"""Environment variable that selects the configuration folder (user manual §3.2.1)."""

DEFAULT_SEN2COR_HOME: Final[str] = "~/sen2cor/2.11"
"""Configuration folder when ``SEN2COR_HOME`` is unset or empty (Sen2Cor 2.11 installer default)."""

CFG_DIR: Final[str] = "cfg"
"""Sub-folder of ``SEN2COR_HOME`` holding the GIPP files."""


def sen2cor_home(environ: Mapping[str, str] | None = None) -> Path:
    """Return the configuration folder: ``$SEN2COR_HOME`` or ``~/sen2cor/2.11``, user-expanded, absolute.

    Parameters
    ----------
    environ
        Environment to read (default :data:`os.environ`).
    """
    env = os.environ if environ is None else environ
    value = env.get(SEN2COR_HOME_ENV, "").strip() or DEFAULT_SEN2COR_HOME
    return Path(os.path.abspath(os.path.expanduser(value)))


def template_path(name: str) -> Path:
    """Path of the shipped default GIPP ``name`` (one of ``L2A_GIPP.xml``, ``L2A_CAL_SC_GIPP.xml``, ...).

    Raises
    ------
    KeyError
        ``name`` is not one of the four GIPP file names.
    """
    if name not in GIPP_FILE_NAMES:
        raise KeyError(f"unknown GIPP template {name!r}; expected one of {', '.join(GIPP_FILE_NAMES)}")
    return Path(str(resources.files("sen2cor.config") / "templates" / name))


def user_gipp_path(home: Path) -> Path:
    """``<home>/cfg/L2A_GIPP.xml``."""
    return home / CFG_DIR / USER_GIPP_NAME


def _create_exclusively(target: Path, content: bytes) -> None:
    """Write ``content`` to ``target``; raise :class:`FileExistsError` if ``target`` exists."""
    fd, tmp_name = tempfile.mkstemp(prefix=".L2A_GIPP.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        try:
            os.link(tmp_name, target)  # atomic, fails if the target exists
        except FileExistsError:
            raise
        except OSError:  # file system without hard links: exclusive create instead
            with open(target, "xb") as handle:
                handle.write(content)
    finally:
        os.unlink(tmp_name)


def ensure_user_gipp(home: Path) -> Path:
    """Create ``<home>/cfg/L2A_GIPP.xml`` from the template unless it exists; return its path.

    The file is written to a temporary name and linked into place, so a concurrent run never sees a
    partial file and an existing file is never replaced.

    Raises
    ------
    ConfigError
        The folder or the file cannot be created (the message suggests setting ``SEN2COR_HOME``).
    """
    target = user_gipp_path(home)
    if target.is_file():
        logger.info("Using the existing user GIPP %s (never overwritten)", target)
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        content = template_path(USER_GIPP_NAME).read_bytes()
        _create_exclusively(target, content)
    except FileExistsError:
        logger.info("Using the existing user GIPP %s (never overwritten)", target)
        return target
    except OSError as exc:
        raise ConfigError(
            f"{SEN2COR_HOME_ENV}: cannot create {target} ({exc.strerror or exc}); "
            f"set {SEN2COR_HOME_ENV} to a writable folder"
        ) from exc
    logger.info("Created the user GIPP %s from the Sen2Cor 2.11 defaults", target)
    return target


def resolve_gipp_option(option: str, value: str, home: Path) -> Path:
    """Resolve a ``--GIP_*`` argument: the file itself, else ``<home>/cfg/<value>``.

    Parameters
    ----------
    option
        Option name for messages, e.g. ``"--GIP_L2A_SC"``.
    value
        The argument as given.
    home
        The configuration folder.

    Raises
    ------
    ConfigError
        Neither location holds a file.
    """
    direct = Path(os.path.expanduser(value))
    if direct.is_file():
        return Path(os.path.abspath(direct))
    in_home = home / CFG_DIR / value
    if in_home.is_file():
        return in_home
    raise ConfigError(f"{option}: GIPP file '{value}' does not exist (also looked in {home / CFG_DIR})")
