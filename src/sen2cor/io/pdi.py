"""Datastrip and tile folders of the PDGS mode (``--mode generate_datastrip`` / ``process_tile``).

Inside the ground segment Sen2Cor works on product data items (PDIs), not on user products: the L1C
datastrip and each L1C tile are separate folders, and so are the L2A datastrip and the L2A tiles it
writes, in standard SAFE naming (user manual §3.3.1)::

    <output_dir>/S2A_OPER_MSI_L2A_DS_<centre>_<creation>_S<sensing start>_N<baseline>/
        MTD_DS.xml   QI_DATA/                          (the L1C datastrip reports)
    <output_dir>/S2A_OPER_MSI_L2A_TL_<centre>_<creation>_A<orbit>_T<tile>_N<baseline>/
        MTD_TL.xml   IMG_DATA/R10m|R20m|R60m/   QI_DATA/   AUX_DATA/

Inputs may be SAFE compact (``DATASTRIP/DS_*`` holding ``MTD_DS.xml``, ``GRANULE/L1C_*`` holding
``MTD_TL.xml``) or standard (``S2A_OPER_MSI_L1C_DS_*`` holding ``S2A_OPER_MTD_L1C_DS_*.xml``,
``S2A_OPER_MSI_L1C_TL_*`` holding ``S2A_OPER_MTD_L1C_TL_*.xml``).  This module reads those folders and
publishes the output folders; it is the only code of the mode that touches paths.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from lxml import etree

from sen2cor.bands import BY_INDEX
from sen2cor.errors import MetadataError, ProductError
from sen2cor.io.l1c import PRODUCT_MTD, TILE_MTD, _read_tile, parse_time, read_l1c
from sen2cor.io.l1c_model import L1CProduct
from sen2cor.io.l2a.layout import MTD_DATASTRIP, QUALITY_REPORT
from sen2cor.io.l2a.mtd_base import write_xml
from sen2cor.io.xml import find, iter_local, local, number, parse_xml, text

log = logging.getLogger(__name__)

L1C_QUANTIFICATION_VALUE: Final[float] = 10000.0
"""L1C ``QUANTIFICATION_VALUE`` (the same in every PSD); a stand-alone tile has no ``MTD_MSIL1C.xml``."""
L1C_RADIO_ADD_OFFSET: Final[int] = -1000
"""L1C ``RADIO_ADD_OFFSET`` of every band from processing baseline 04.00 on (PSD 14.9; 0 before)."""
OFFSET_BASELINE: Final[float] = 4.0
"""First L1C processing baseline whose digital numbers carry :data:`L1C_RADIO_ADD_OFFSET`."""

DS_ROOTS: Final[dict[str, str]] = {"Level-1C_DataStrip_ID": "Level-1C", "Level-2A_DataStrip_ID": "Level-2A"}
TILE_ROOTS: Final[dict[str, str]] = {"Level-1C_Tile_ID": "Level-1C", "Level-2A_Tile_ID": "Level-2A"}
_SPACECRAFT: Final[dict[str, str]] = {"Sentinel-2A": "S2A", "Sentinel-2B": "S2B", "Sentinel-2C": "S2C"}
_DS_ID_RE = re.compile(r"^(?P<sc>S2[ABC])_\w{4}_MSI_(?P<level>L1C|L2A)_DS_(?P<centre>\w{4})"
                       r"_(?P<created>\d{8}T\d{6})_S(?P<start>\d{8}T\d{6})_N(?P<baseline>\d{2}\.\d{2})$")
_TILE_ID_RE = re.compile(r"^(?P<sc>S2[ABC])_(?P<cls>\w{4})_MSI_L1C_TL_\w{4}_(?P<created>\d{8}T\d{6})"
                         r"_A(?P<orbit>\d{6})_T(?P<tile>\w{5})_N(?P<baseline>\d{2}\.\d{2})$")
_LEVEL_TOKENS: Final[dict[str, str]] = {"Level-1C": "L1C", "Level-2A": "L2A"}
_STD_MTD_GLOB: Final[dict[str, str]] = {"DS": "S2*_MTD_L??_DS_*.xml", "TL": "S2*_MTD_L??_TL_*.xml"}
_COMPACT_MTD: Final[dict[str, str]] = {"DS": MTD_DATASTRIP, "TL": TILE_MTD}
_STD_MTD_SHOWN: Final[dict[str, str]] = {"DS": "S2x_OPER_MTD_L1C_DS_*.xml", "TL": "S2x_OPER_MTD_L1C_TL_*.xml"}


def compact(value: datetime) -> str:
    """``YYYYMMDDTHHMMSS`` (UTC) of ``value``."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y%m%dT%H%M%S")


def find_metadata(folder: Path, kind: str, option: str, fix: str) -> Path:
    """The metadata file of a datastrip (``kind="DS"``) or tile (``"TL"``) folder, compact or standard name.

    Raises
    ------
    ProductError
        ``folder`` is missing, not a folder, or holds no such file; the message ends with ``fix``.
    """
    if not folder.is_dir():
        raise ProductError(f"{option} {folder}: does not exist or is not a directory; {fix}")
    compact_file = folder / _COMPACT_MTD[kind]
    if compact_file.is_file():
        return compact_file
    found = sorted(folder.glob(_STD_MTD_GLOB[kind]))
    if len(found) == 1:
        return found[0]
    what = "datastrip" if kind == "DS" else "tile"
    if found:
        raise ProductError(f"{option} {folder}: holds several {what} metadata files "
                           f"({', '.join(p.name for p in found)}); {fix}")
    raise ProductError(f"{option} {folder}: not a {what} folder (no {_COMPACT_MTD[kind]} or "
                       f"{_STD_MTD_SHOWN[kind]} in it); {fix}")


def _level(root: etree._Element, roots: dict[str, str], file: Path, option: str, fix: str) -> str:
    name = local(root)
    if name not in roots:
        raise ProductError(f"{option} {file}: root element <{name}> is not Sentinel-2 "
                           f"{'/'.join(roots)} metadata; {fix}")
    return roots[name]


@dataclass(frozen=True)
class DatastripMetadata:
    """What the PDGS mode needs from a Level-1C or Level-2A datastrip metadata file."""

    folder: Path
    mtd_file: Path
    level: str
    """``Level-1C`` or ``Level-2A``."""
    identifier: str
    """Datastrip ID, e.g. ``S2A_OPER_MSI_L2A_DS_SGS__20260102T030405_S20171207T002252_N99.99``."""
    spacecraft: str
    datatake_id: str
    datatake_type: str
    datatake_sensing_start: datetime
    relative_orbit: int
    orbit_direction: str
    sensing_start: datetime
    sensing_stop: datetime
    processing_baseline: str
    processing_centre: str
    archiving_centre: str
    creation_time: datetime
    """Creation time of the identifier (naive UTC)."""
    tile_ids: tuple[str, ...]
    u: float | None
    solar_irradiance: dict[str, float] = field(hash=False, compare=False)
    root: etree._Element = field(hash=False, compare=False, repr=False)

    @property
    def sensing_start_token(self) -> str:
        """``S<start>`` field of the identifier without the ``S`` (``20171207T002252``)."""
        m = _DS_ID_RE.match(self.identifier)
        return m["start"] if m else compact(self.sensing_start)

    @property
    def identifier_centre(self) -> str:
        """Centre field of the identifier (the processing centre of the datastrip)."""
        m = _DS_ID_RE.match(self.identifier)
        return m["centre"] if m else self.processing_centre


def read_datastrip(folder: Path, option: str, fix: str) -> DatastripMetadata:
    """Read the datastrip metadata in ``folder`` (see :class:`DatastripMetadata`).

    The identifier is the folder name when it is a standard datastrip ID, otherwise it is rebuilt from
    the metadata (spacecraft, ``PROCESSING_CENTER``, ``UTC_DATE_TIME``, sensing start, baseline).

    Raises
    ------
    ProductError
        Not a datastrip folder.
    MetadataError
        Malformed metadata or a missing element (named with the file).
    """
    mtd = find_metadata(folder, "DS", option, fix)
    root = parse_xml(mtd)
    level = _level(root, DS_ROOTS, mtd, option, fix)
    sc_name = text(root, "Datatake_Info/SPACECRAFT_NAME", mtd)
    if sc_name not in _SPACECRAFT:
        raise MetadataError(f"{mtd}: <SPACECRAFT_NAME> {sc_name!r} is not Sentinel-2A/2B/2C")
    dt = find(root, "Datatake_Info")
    assert dt is not None  # SPACECRAFT_NAME was found below it
    baseline = text(root, "General_Info/Processing_Info/PROCESSING_BASELINE", mtd)
    centre = text(root, "General_Info/Processing_Info/PROCESSING_CENTER", mtd)
    def when(path: str) -> datetime:
        return parse_time(text(root, path, mtd), mtd, path.rsplit("/", 1)[-1])

    processed = when("General_Info/Processing_Info/UTC_DATE_TIME")
    start = when("Datastrip_Time_Info/DATASTRIP_SENSING_START")
    stop = when("Datastrip_Time_Info/DATASTRIP_SENSING_STOP")
    m = _DS_ID_RE.match(folder.name)
    token = _LEVEL_TOKENS[level]
    if m is not None and m["level"] == token:
        identifier, created = folder.name, datetime.strptime(m["created"], "%Y%m%dT%H%M%S")
    else:
        created = processed.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
        identifier = (f"{_SPACECRAFT[sc_name]}_OPER_MSI_{token}_DS_{centre}_{compact(created)}"
                      f"_S{compact(start)}_N{baseline}")
    irradiance: dict[str, float] = {}
    for el in iter_local(root, "SOLAR_IRRADIANCE"):
        idx = el.get("bandId")
        if idx is not None and idx.isdigit() and int(idx) in BY_INDEX and el.text:
            irradiance[BY_INDEX[int(idx)].id] = float(el.text)
    u_el = find(root, "Reflectance_Conversion/U")
    tile_list = find(root, "Tiles_Information/Tile_List")
    return DatastripMetadata(
        folder=folder, mtd_file=mtd, level=level, identifier=identifier, spacecraft=_SPACECRAFT[sc_name],
        datatake_id=dt.get("datatakeIdentifier", ""),
        datatake_type=text(dt, "DATATAKE_TYPE", mtd, default="INS-NOBS"),
        datatake_sensing_start=when("Datatake_Info/DATATAKE_SENSING_START"),
        relative_orbit=int(number(dt, "SENSING_ORBIT_NUMBER", mtd)),
        orbit_direction=text(dt, "SENSING_ORBIT_DIRECTION", mtd, default="DESCENDING"),
        sensing_start=start, sensing_stop=stop, processing_baseline=baseline, processing_centre=centre,
        archiving_centre=text(root, "General_Info/Archiving_Info/ARCHIVING_CENTRE", mtd, default=centre),
        creation_time=created,
        tile_ids=tuple(t.get("tileId", "") for t in (tile_list if tile_list is not None else [])
                       if local(t) == "Tile" and t.get("tileId")),
        u=float(u_el.text) if u_el is not None and u_el.text else None,
        solar_irradiance=irradiance, root=root,
    )


def l2a_tile_id(l1c_tile_id: str, centre: str, created: datetime, baseline: str) -> str | None:
    """The L2A tile ID of an L1C tile ID, processed under an L2A datastrip (its centre, creation time and
    baseline); None when ``l1c_tile_id`` is not a standard L1C tile ID."""
    m = _TILE_ID_RE.match(l1c_tile_id)
    if m is None:
        return None
    return (f"{m['sc']}_{m['cls']}_MSI_L2A_TL_{centre}_{compact(created)}_A{m['orbit']}_T{m['tile']}"
            f"_N{baseline}")


def read_tile(tile: Path, datastrip: DatastripMetadata, staging: Path, option: str,
              fix: str) -> tuple[L1CProduct, etree._Element]:
    """The L1C tile ``tile`` as an :class:`L1CProduct`, and its parsed tile metadata.

    A tile inside a compact user product (``<product>.SAFE/GRANULE/L1C_*``) is read with
    :func:`~sen2cor.io.l1c.read_l1c`.  A stand-alone tile (compact or standard naming) is first linked
    into ``staging`` as a one-tile compact granule; what a user product would add (spacecraft,
    datatake, reflectance conversion) comes from the L2A ``datastrip``, the quantification value and
    radiometric offset from the PSD (:data:`L1C_QUANTIFICATION_VALUE`, :data:`L1C_RADIO_ADD_OFFSET`).

    Raises
    ------
    ProductError
        Not an L1C tile folder, or its images are missing.
    MetadataError
        Malformed tile metadata, or the datastrip lacks the solar irradiance / ``U``.
    """
    mtd = find_metadata(tile, "TL", option, fix)
    root = parse_xml(mtd)
    level = _level(root, TILE_ROOTS, mtd, option, fix)
    if level != "Level-1C":
        raise ProductError(f"{option} {tile}: is a {level} tile; {fix}")
    in_product = tile.parent.name == "GRANULE" and (tile.parent.parent / PRODUCT_MTD).is_file()
    if mtd.name == TILE_MTD and in_product:
        return read_l1c(tile), root
    tile_id = text(root, "TILE_ID", mtd)
    m = _TILE_ID_RE.match(tile_id)
    if m is None:
        raise MetadataError(f"{mtd}: <TILE_ID> {tile_id!r} is not a Level-1C tile identifier")
    granule = staging / "GRANULE" / f"L1C_T{m['tile']}_A{m['orbit']}_{datastrip.sensing_start_token}"
    granule.mkdir(parents=True)
    (granule / TILE_MTD).symlink_to(mtd.resolve())
    for name in ("IMG_DATA", "QI_DATA", "AUX_DATA"):
        if (tile / name).is_dir():
            (granule / name).symlink_to((tile / name).resolve(), target_is_directory=True)
    l1c_tile = _read_tile(granule, [], staging)
    missing = [b.id for b in BY_INDEX.values() if b.id not in datastrip.solar_irradiance]
    if missing or datastrip.u is None:
        raise MetadataError(f"{datastrip.mtd_file}: <Reflectance_Conversion> lacks U or SOLAR_IRRADIANCE "
                            f"of {', '.join(missing) or 'no band'}; it cannot serve a stand-alone tile")
    baseline = float(m["baseline"])
    offset = L1C_RADIO_ADD_OFFSET if baseline >= OFFSET_BASELINE else 0
    generated = datetime.strptime(m["created"], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
    product = L1CProduct(
        path=staging, product_uri=tile_id, spacecraft=datastrip.spacecraft,
        product_start_time=datastrip.sensing_start, product_stop_time=datastrip.sensing_stop,
        generation_time=generated, datatake_id=datastrip.datatake_id, datatake_type=datastrip.datatake_type,
        datatake_sensing_start=datastrip.datatake_sensing_start, relative_orbit=datastrip.relative_orbit,
        orbit_direction=datastrip.orbit_direction, processing_baseline=m["baseline"],
        psd_version=14.9 if offset else 14.5 if baseline >= 2.07 else 14.2,
        quantification_value=L1C_QUANTIFICATION_VALUE,
        radio_add_offset={b.id: offset for b in BY_INDEX.values()},
        solar_irradiance=dict(datastrip.solar_irradiance), u=datastrip.u, nodata_value=0,
        saturated_value=65535, datastrip_path=None, tile=l1c_tile, product_format="SAFE", mtd_file=None,
    )
    log.info("stand-alone L1C tile %s linked into %s", tile.name, staging)
    return product, root


def prepare_folder(path: Path, option: str) -> Path:
    """Create ``path`` (a work or database folder) if needed.

    Raises
    ------
    ProductError
        It exists as a file or cannot be created.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ProductError(f"{option} {path}: exists and is not a directory; give a folder") from None
    except OSError as exc:
        raise ProductError(f"{option} {path}: cannot be created ({exc.strerror}); "
                           "give a writable folder") from None
    return path


def scratch_folder(parent: Path, kind: str) -> Path:
    """A new private folder ``<parent>/.sen2cor-<kind>-<pid>-<hex>`` (removed by the caller)."""
    path = parent / f".sen2cor-{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def temporary_target(output_dir: Path, name: str) -> Path:
    """Hidden build folder beside the final ``<output_dir>/<name>`` (renamed by :func:`publish`)."""
    return output_dir / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def publish(built: Path, output_dir: Path, name: str) -> Path:
    """Move the finished folder ``built`` to ``<output_dir>/<name>`` atomically and return that path.

    ``built`` is first moved beside the target (a copy when it lies on another file system), then
    renamed; an existing folder of the same name (a re-run) is replaced.
    """
    target = output_dir / name
    staged = built
    if built.parent.resolve() != output_dir.resolve():
        staged = temporary_target(output_dir, name)
        try:
            shutil.move(str(built), str(staged))
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
    if target.exists():
        old = output_dir / f".{name}.old-{os.getpid()}"
        os.rename(target, old)
        os.rename(staged, target)
        shutil.rmtree(old, ignore_errors=True)
        log.info("replaced the earlier %s", name)
    else:
        os.rename(staged, target)
    return target


def write_datastrip(tree: etree._Element, qi_source: Path, output_dir: Path, name: str) -> Path:
    """Publish the datastrip folder ``<output_dir>/<name>``: ``MTD_DS.xml`` from ``tree`` and
    ``QI_DATA/`` with the files of ``qi_source`` (the L1C datastrip reports); returns its path."""
    build = temporary_target(output_dir, name)
    try:
        build.mkdir()
        write_xml(tree, build / MTD_DATASTRIP)
        (build / "QI_DATA").mkdir()
        copy_files(qi_source, build / "QI_DATA")
        return publish(build, output_dir, name)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise


def retarget_quality_report(granule: Path, final: Path) -> None:
    """Point the ``url`` of the items of ``granule/QI_DATA/L2A_QUALITY.xml`` (the granule's ``AUX_DATA``
    where it was built) to ``final/AUX_DATA``, where the tile is published."""
    report = granule / "QI_DATA" / QUALITY_REPORT
    if not report.is_file():
        return
    root = parse_xml(report)
    built = str(granule / "AUX_DATA")
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("url") == built:
            el.set("url", str(final / "AUX_DATA"))
    report.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def copy_files(src: Path, dst: Path) -> list[str]:
    """Copy the plain files of ``src`` (if it is a folder) into ``dst``; returns their names."""
    copied: list[str] = []
    if not src.is_dir():
        return copied
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        if f.is_file():
            shutil.copyfile(f, dst / f.name)
            copied.append(f.name)
    return copied


__all__ = ["DatastripMetadata", "compact", "copy_files", "find_metadata", "l2a_tile_id", "prepare_folder",
           "publish", "read_datastrip", "read_tile", "retarget_quality_report", "scratch_folder",
           "temporary_target", "write_datastrip"]
