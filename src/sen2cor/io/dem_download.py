"""Download one DEM tile into the DEM directory: HTTP with time-outs, checks, atomic write, file lock.

Sen2Cor fetches missing DEM tiles from ``DEM_Reference`` (user manual §2.2.8; facts §2.1): CGIAR SRTM
``srtm_XX_YY.zip`` archives, Copernicus DEM ``…​.tar`` archives (ESA PRISM/CDSE) and single Copernicus
GeoTIFFs from AWS.  Here one function does that for one tile, safely:

* **time-outs**: every socket operation (connect, each read) is limited to ``timeout_s``; the whole
  transfer to ``total_timeout_s``;
* **checks**: HTTP status 200, ``Content-Length`` honoured (a short body is an error), a size cap, the
  archive type (ZIP/TAR magic, ZIP CRCs), the expected member present as a regular file, and the final
  GeoTIFF fully decodable by GDAL with a geographic CRS;
* **atomic write**: everything is written to hidden temporary files created with ``O_EXCL`` inside the
  DEM directory and renamed (``os.replace``) onto the final name only when complete, so a reader never
  sees a partial tile;
* **two concurrent runs**: a per-tile lock file (``.<name>.lock``, ``flock``) serialises the download;
  the second run finds the tile present once it gets the lock and does not download it again.

Public function: :func:`fetch_dem_tile` (used by :mod:`sen2cor.io.dem`).  Unlike Sen2Cor, TLS
certificates are verified (Sen2Cor disables the check).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Literal

import rasterio
from rasterio.errors import RasterioError

from sen2cor.errors import AuxDataError

try:  # POSIX advisory locks; Windows falls back to an O_EXCL lock file
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S: Final[float] = 60.0
"""Socket time-out (connect and each read) of a DEM download, seconds."""

DEFAULT_TOTAL_TIMEOUT_S: Final[float] = 1800.0
"""Upper bound for one whole tile transfer, seconds (a 90 MB SRTM zip at 100 kB/s takes 15 min)."""

MAX_DOWNLOAD_BYTES: Final[int] = 2 * 1024**3
"""Refuse responses larger than this (a Copernicus GLO-30 tar is < 100 MB, an SRTM zip < 100 MB)."""

MIN_DOWNLOAD_BYTES: Final[int] = 64
"""Smaller bodies cannot be a DEM archive (error pages, empty files)."""

LOCK_TIMEOUT_S: Final[float] = 3600.0
"""How long a run waits for another run's download of the same tile."""

CHUNK_BYTES: Final[int] = 1 << 20
USER_AGENT: Final[str] = "sen2cor-python DEM fetcher"

ArchiveKind = Literal["zip", "tar", "tif"]

_MAGIC: Final[dict[str, tuple[bytes, ...]]] = {
    "zip": (b"PK\x03\x04",),
    "tif": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
}


def fetch_dem_tile(
    url: str,
    directory: Path,
    final_name: str,
    *,
    archive: ArchiveKind,
    member: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    total_timeout_s: float = DEFAULT_TOTAL_TIMEOUT_S,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Path:
    """Make ``directory/final_name`` exist, downloading it from ``url`` if needed.

    Parameters
    ----------
    url:
        ``http://`` or ``https://`` address of the archive (or of the GeoTIFF when ``archive="tif"``).
    directory:
        The DEM directory; created if missing.  Must be writable when a download is needed.
    final_name:
        File name of the GeoTIFF to produce in ``directory``.
    archive:
        ``"zip"`` (CGIAR SRTM), ``"tar"`` (Copernicus DEM) or ``"tif"`` (a plain GeoTIFF).
    member:
        Base name of the GeoTIFF inside the archive (default ``final_name``).
    timeout_s, total_timeout_s, max_bytes, lock_timeout_s:
        Limits, see the module constants.

    Returns
    -------
    pathlib.Path
        The complete, validated GeoTIFF.

    Raises
    ------
    AuxDataError
        Bad URL, HTTP error, time-out, short or oversize body, wrong format, missing member,
        undecodable raster, lock time-out or an unwritable directory.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise AuxDataError(f"DEM_Reference download address {url!r} is not an http(s) URL")
    directory = Path(directory)
    final = directory / final_name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuxDataError(f"{directory}: cannot create the DEM directory ({exc.strerror})") from None
    if final.is_file():
        return final
    with _exclusive_lock(directory / f".{final_name}.lock", lock_timeout_s):
        if final.is_file():  # another run finished it while we waited
            log.info("DEM tile %s was downloaded by a concurrent run", final_name)
            return final
        log.info("Downloading DEM tile %s from %s", final_name, url)
        with _temporary(directory, final_name, ".part") as body:
            size = _download(url, body, timeout_s, total_timeout_s, max_bytes)
            _check_magic(body, archive, url)
            with _temporary(directory, final_name, ".tif.part") as tif:
                if archive == "tif":
                    shutil.copyfile(body, tif)
                elif archive == "zip":
                    _extract_zip(body, member or final_name, tif, url)
                else:
                    _extract_tar(body, member or final_name, tif, url)
                validate_geotiff(tif, source=url)
                _fsync(tif)
                os.replace(tif, final)
        log.info("DEM tile %s stored (%d bytes downloaded)", final, size)
    return final


def validate_geotiff(path: Path, *, source: str | None = None) -> None:
    """Raise :class:`AuxDataError` unless ``path`` is a fully decodable, geographic, single-band raster."""
    what = source or str(path)
    try:
        with rasterio.open(path) as ds:
            if ds.count < 1 or ds.width < 2 or ds.height < 2:
                raise AuxDataError(
                    f"{what}: DEM raster has no usable band ({ds.count} bands, {ds.width}×{ds.height})"
                )
            if ds.crs is not None and not ds.crs.is_geographic:
                raise AuxDataError(f"{what}: DEM raster is not in geographic coordinates ({ds.crs})")
            for _, window in ds.block_windows(1):  # decode everything: a truncated file fails here
                ds.read(1, window=window)
    except RasterioError as exc:
        raise AuxDataError(f"{what}: not a readable GeoTIFF ({exc})") from None


@contextlib.contextmanager
def _exclusive_lock(path: Path, timeout_s: float) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if needed; never deleted, to stay race-free)."""
    deadline = time.monotonic() + timeout_s
    if fcntl is None:  # pragma: no cover - Windows
        with _exclusive_lockfile(path, deadline):
            yield
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise AuxDataError(f"{path.parent}: DEM directory is not writable ({exc.strerror})") from None
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise AuxDataError(
                        f"{path}: another run holds this DEM download lock for too long"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusive_lockfile(path: Path, deadline: float) -> Iterator[None]:  # pragma: no cover - Windows
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise AuxDataError(f"{path}: another run holds this DEM download lock for too long") from None
            time.sleep(0.2)
    try:
        os.close(fd)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def _temporary(directory: Path, name: str, suffix: str) -> Iterator[Path]:
    """A fresh hidden file in ``directory`` (``O_EXCL``), removed on exit unless renamed away."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=directory)
    except OSError as exc:
        raise AuxDataError(f"{directory}: DEM directory is not writable ({exc.strerror})") from None
    os.close(fd)
    path = Path(tmp)
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _download(url: str, dest: Path, timeout_s: float, total_timeout_s: float, max_bytes: int) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    deadline = time.monotonic() + total_timeout_s
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            status = getattr(resp, "status", 200)
            if status != 200:
                raise AuxDataError(f"{url}: HTTP {status}, expected 200")
            expected = resp.headers.get("Content-Length")
            expected_n = int(expected) if expected and expected.isdigit() else None
            if expected_n is not None and expected_n > max_bytes:
                raise AuxDataError(f"{url}: announced size {expected_n} B exceeds the {max_bytes} B limit")
            received = 0
            with open(dest, "wb") as out:
                while True:
                    chunk = resp.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    received += len(chunk)
                    if received > max_bytes:
                        raise AuxDataError(f"{url}: body exceeds the {max_bytes} B limit")
                    if time.monotonic() > deadline:
                        raise AuxDataError(f"{url}: download took longer than {total_timeout_s:.0f} s")
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise AuxDataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise AuxDataError(f"{url}: cannot connect ({exc.reason})") from None
    except http.client.IncompleteRead as exc:
        raise AuxDataError(f"{url}: transfer truncated after {len(exc.partial)} bytes") from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise AuxDataError(f"{url}: transfer failed ({exc.__class__.__name__}: {exc})") from None
    if expected_n is not None and received != expected_n:
        raise AuxDataError(f"{url}: transfer truncated: received {received} of {expected_n} bytes")
    if received < MIN_DOWNLOAD_BYTES:
        raise AuxDataError(f"{url}: body of {received} bytes is too small to be a DEM tile")
    return received


def _check_magic(path: Path, archive: ArchiveKind, url: str) -> None:
    with open(path, "rb") as f:
        head = f.read(512)
    if archive == "tar":
        ok = tarfile.is_tarfile(path)
    else:
        ok = head.startswith(_MAGIC[archive])
    if not ok:
        raise AuxDataError(
            f"{url}: downloaded body is not a {archive.upper()} file (starts with {head[:8]!r})"
        )


def _extract_zip(archive: Path, member: str, dest: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise AuxDataError(f"{url}: ZIP member {bad} is corrupt (CRC mismatch)")
            names = [n for n in zf.namelist() if Path(n).name == member and not n.endswith("/")]
            if not names:
                raise AuxDataError(f"{url}: ZIP archive has no member {member}")
            with zf.open(names[0]) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_BYTES)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise AuxDataError(f"{url}: damaged ZIP archive ({exc})") from None


def _extract_tar(archive: Path, member: str, dest: Path, url: str) -> None:
    try:
        with tarfile.open(archive, mode="r:*") as tf:
            found = None
            for info in tf:
                if info.isfile() and Path(info.name).name == member:
                    found = info
                    break
            if found is None:
                raise AuxDataError(f"{url}: TAR archive has no regular file {member}")
            src = tf.extractfile(found)
            if src is None:  # pragma: no cover - isfile() guarantees a stream
                raise AuxDataError(f"{url}: TAR member {member} cannot be read")
            with src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_BYTES)
            if dest.stat().st_size != found.size:
                raise AuxDataError(f"{url}: TAR member {member} is truncated")
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise AuxDataError(f"{url}: damaged TAR archive ({exc})") from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
