"""PDGS mode round trip: ``--mode generate_datastrip`` then ``--mode process_tile`` through ``main(argv)``.

The L1C is the real T55JEJ product of ``../shared/data/s2-l1c-t55jej-lowres`` (genuine ESA metadata,
PB 02.06: the L2A is PSD 14.6 and must validate strictly) with its 64×-shrunk images resampled to one
consistent 180/90/30-pixel grid.  It is processed once in toolbox mode and twice in PDGS mode: from its
SAFE-compact datastrip and tile folders, and from stand-alone copies in standard naming
(``S2A_OPER_MSI_L1C_DS_*`` / ``S2A_OPER_MSI_L1C_TL_*``) with separate image/result databases and ``--tif``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from lxml import etree

from sen2cor.cli.main import main
from sen2cor.testing.lowres import consistent_lowres_copy

pytestmark = [pytest.mark.needs_shared_data, pytest.mark.slow]

T55JEJ = "s2-l1c-t55jej-lowres/S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE"
L1C_DS_ID = "S2A_OPER_MSI_L1C_DS_SGS__20171207T032513_S20171207T002252_N02.06"
L1C_TILE_ID = "S2A_OPER_MSI_L1C_TL_SGS__20171207T032513_A012840_T55JEJ_N02.06"
DS_NAME = re.compile(r"^S2A_OPER_MSI_L2A_DS_EDRS_(?P<created>\d{8}T\d{6})_S20171207T002252_N99\.99$")
DS_REPORTS = {
    "FORMAT_CORRECTNESS.xml",
    "GENERAL_QUALITY.xml",
    "GEOMETRIC_QUALITY.xml",
    "RADIOMETRIC_QUALITY.xml",
    "SENSOR_QUALITY.xml",
}
XSD = {
    "MTD_DS.xml": "S2_PDI_Level-2A_Datastrip_Metadata.xsd",
    "MTD_TL.xml": "S2_PDI_Level-2A_Tile_Metadata.xsd",
}


def standard_pdis(safe: Path, dst: Path) -> tuple[Path, Path]:
    """Stand-alone L1C datastrip and tile folders in standard naming, as the ground segment stores them."""
    ds = dst / L1C_DS_ID
    ds.mkdir(parents=True)
    src_ds = next((safe / "DATASTRIP").iterdir())
    shutil.copyfile(src_ds / "MTD_DS.xml", ds / f"{L1C_DS_ID[:-7].replace('MSI_L1C', 'MTD_L1C')}.xml")
    shutil.copytree(src_ds / "QI_DATA", ds / "QI_DATA")
    tile = dst / L1C_TILE_ID
    granule = next((safe / "GRANULE").iterdir())
    shutil.copytree(granule, tile)
    (tile / "MTD_TL.xml").rename(tile / f"{L1C_TILE_ID[:-7].replace('MSI_L1C', 'MTD_L1C')}.xml")
    for f in (tile / "IMG_DATA").glob("T55JEJ_*_B??.jp2"):
        f.rename(f.with_name(f"{L1C_TILE_ID[:-7]}_{f.stem[-3:]}.jp2"))
    return ds, tile


@pytest.fixture(scope="module", autouse=True)
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """SEN2COR_HOME in a temporary folder, ESA's LUTs when available (else scene classification only)."""
    luts = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sen2cor-2.8-luts"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEN2COR_HOME", str(tmp_path_factory.mktemp("home")))
        if luts.is_dir():
            mp.setenv("SEN2COR_LUT_DIR", str(luts))
        yield [] if luts.is_dir() else ["--sc_only"]


@pytest.fixture(scope="module")
def l1c(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return consistent_lowres_copy(shared_data / T55JEJ, tmp_path_factory.mktemp("l1c"))


@pytest.fixture(scope="module")
def toolbox_granule(l1c: Path, env: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("toolbox")
    assert main([str(l1c), "--output_dir", str(out), *env]) == 0
    (granule,) = out.glob("*.SAFE/GRANULE/L2A_*")
    return granule


def generate(datastrip: Path, root: Path) -> Path:
    args = [
        "--mode",
        "generate_datastrip",
        "--datastrip",
        str(datastrip),
        "--work_dir",
        str(root / "work"),
        "--output_dir",
        str(root / "ds"),
        "--processing_centre",
        "EDRS",
        "--archiving_centre",
        "SGS_",
    ]
    assert main(args) == 0
    (ds,) = (root / "ds").iterdir()
    return ds


def process_tile(datastrip: Path, tile: Path, root: Path, *extra: str) -> int:
    """``L2A_Process --mode process_tile`` with work dir ``root/work`` and output ``root/tl``."""
    return main(["--mode", "process_tile", "--datastrip", str(datastrip), "--tile", str(tile), "--work_dir",
                 str(root / "work"), "--output_dir", str(root / "tl"), *extra])


@pytest.fixture(scope="module")
def compact_run(
    l1c: Path, env: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path]:
    """PDGS run on the compact folders of the user product: (L2A datastrip, L2A tile, work dir)."""
    root = tmp_path_factory.mktemp("pdgs")
    ds = generate(next((l1c / "DATASTRIP").iterdir()), root)
    assert process_tile(ds, next((l1c / "GRANULE").iterdir()), root, *env) == 0
    (tile,) = (root / "tl").iterdir()
    return ds, tile, root / "work"


def _validate(path: Path, schema_dir: Path) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(schema_dir / XSD[path.name])))
    schema.validate(etree.parse(str(path)))
    return [f"{e.line}: {e.message}" for e in schema.error_log]


def _general(path: Path, tag: str) -> str:
    el = next(
        e for e in etree.parse(str(path)).iter() if isinstance(e.tag, str) and etree.QName(e).localname == tag
    )
    return (el.text or "").strip()


def _images(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.suffix in (".jp2", ".tif") and f.parent.name != "AUX_DATA":
            with rasterio.open(f) as ds:
                out[str(f.relative_to(folder).with_suffix(""))] = ds.read()
    return out


def test_datastrip_is_written_where_and_as_sen2cor_does(  # type: ignore[no-untyped-def]
    compact_run, shared_reference: Path
) -> None:
    ds, tile, _ = compact_run
    m = DS_NAME.match(ds.name)
    assert m, ds.name
    assert sorted(p.name for p in ds.parent.iterdir()) == [ds.name]  # no temporary left beside it
    assert {p.name for p in ds.iterdir()} == {"MTD_DS.xml", "QI_DATA"}
    assert {p.name for p in (ds / "QI_DATA").iterdir()} == DS_REPORTS
    mtd = ds / "MTD_DS.xml"
    assert _validate(mtd, shared_reference / "schemas" / "psd-14.5") == []
    assert _general(mtd, "PROCESSING_CENTER") == "EDRS" and _general(mtd, "ARCHIVING_CENTRE") == "SGS_"
    assert _general(mtd, "PROCESSING_BASELINE") == "99.99"
    assert _general(mtd, "UTC_DATE_TIME").replace("-", "").replace(":", "") == m["created"] + "Z"
    tiles = [t.get("tileId") for t in etree.parse(str(mtd)).iter("Tile")]
    assert len(tiles) == 105 and all(
        t.startswith(f"S2A_OPER_MSI_L2A_TL_EDRS_{m['created']}_A012840_T") for t in tiles
    )
    assert tile.name in tiles  # the tile list names the tiles process_tile writes


def test_tile_is_written_where_and_as_sen2cor_does(
    compact_run,
    toolbox_granule: Path,  # type: ignore[no-untyped-def]
    shared_reference: Path,
) -> None:
    ds, tile, work = compact_run
    created = DS_NAME.match(ds.name)["created"]  # type: ignore[index]
    assert tile.name == f"S2A_OPER_MSI_L2A_TL_EDRS_{created}_A012840_T55JEJ_N99.99"
    assert sorted(p.name for p in tile.parent.iterdir()) == [tile.name]
    assert list(work.iterdir()) == []  # scratch folders removed
    mtd = tile / "MTD_TL.xml"
    assert _validate(mtd, shared_reference / "schemas" / "psd-14.5") == []
    assert _general(mtd, "TILE_ID") == tile.name and _general(mtd, "DATASTRIP_ID") == ds.name
    assert _general(mtd, "L1C_TILE_ID") == L1C_TILE_ID and _general(mtd, "ARCHIVING_CENTRE") == "SGS_"
    # the same files as the granule of the toolbox product, under the same names
    files = {str(p.relative_to(tile)) for p in tile.rglob("*") if p.is_file()}
    assert files == {str(p.relative_to(toolbox_granule)) for p in toolbox_granule.rglob("*") if p.is_file()}
    for name in (
        "IMG_DATA/R10m/T55JEJ_20171207T002051_B02_10m.jp2",
        "IMG_DATA/R20m/T55JEJ_20171207T002051_SCL_20m.jp2",
        "IMG_DATA/R60m/T55JEJ_20171207T002051_B09_60m.jp2",
        "QI_DATA/MSK_CLDPRB_20m.jp2",
        "QI_DATA/L2A_QUALITY.xml",
        "QI_DATA/T55JEJ_20171207T002051_PVI.jp2",
        "QI_DATA/GENERAL_QUALITY.xml",
        "AUX_DATA/AUX_ECMWFT",
    ):
        assert name in files, name
    report = (tile / "QI_DATA" / "L2A_QUALITY.xml").read_text()
    assert "<File_Class>OPER</File_Class>" in report and f'url="{tile / "AUX_DATA"}"' in report


def test_tile_rasters_equal_the_toolbox_run(
    compact_run: tuple[Path, Path, Path], toolbox_granule: Path
) -> None:
    _, tile, _ = compact_run
    ours, toolbox = _images(tile), _images(toolbox_granule)
    assert ours.keys() == toolbox.keys() and len(ours) >= 35
    for key, image in toolbox.items():
        np.testing.assert_array_equal(ours[key], image, err_msg=key)


def test_standard_naming_pdis_with_databases(
    l1c: Path, env: list[str], toolbox_granule: Path, tmp_path: Path
) -> None:
    """Stand-alone standard-named L1C datastrip and tile; --img/--res_database_dir; --tif."""
    ds_in, tile_in = standard_pdis(l1c, tmp_path / "l1c")
    ds = generate(ds_in, tmp_path)
    assert DS_NAME.match(ds.name)
    extra = ["--img_database_dir", str(tmp_path / "img_db"), "--res_database_dir", str(tmp_path / "res_db"), "--tif"]
    assert process_tile(ds, tile_in, tmp_path, *extra, *env) == 0
    (tile,) = (tmp_path / "tl").iterdir()
    assert tile.name.startswith("S2A_OPER_MSI_L2A_TL_EDRS_") and tile.name.endswith("_A012840_T55JEJ_N99.99")
    assert list((tmp_path / "img_db").iterdir()) == list((tmp_path / "res_db").iterdir()) == []
    assert (tile / "IMG_DATA" / "R20m" / "T55JEJ_20171207T002051_SCL_20m.tif").is_file()
    ours, toolbox = _images(tile), _images(toolbox_granule)
    assert ours.keys() == toolbox.keys()
    for key, image in toolbox.items():
        np.testing.assert_array_equal(ours[key], image, err_msg=key)


# ---------------------------------------------------------------------------------------- bad input


@pytest.fixture()
def l2a_datastrip(compact_run) -> Path:  # type: ignore[no-untyped-def]
    return compact_run[0]


def _fails(args: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main([*args, "--work_dir", str(out / "work"), "--output_dir", str(out / "out")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("L2A_Process: error: ")
    assert not (out / "out").exists() or list((out / "out").iterdir()) == []  # no partial output
    assert not (out / "work").exists() or list((out / "work").iterdir()) == []
    return line


def test_missing_datastrip_option(l1c: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tile = next((l1c / "GRANULE").iterdir())
    line = _fails(["--mode", "process_tile", "--tile", str(tile)], tmp_path, capsys)
    assert "--datastrip" in line


def test_l1c_datastrip_given_to_process_tile(
    l1c: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ds, tile = next((l1c / "DATASTRIP").iterdir()), next((l1c / "GRANULE").iterdir())
    line = _fails(["--mode", "process_tile", "--datastrip", str(ds), "--tile", str(tile)], tmp_path, capsys)
    assert f"--datastrip {ds}: is a Level-1C datastrip" in line and "--mode generate_datastrip" in line


def test_wrong_folders(
    l1c: Path, l2a_datastrip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tile = next((l1c / "GRANULE").iterdir())
    line = _fails(
        [
            "--mode",
            "generate_datastrip",
            "--datastrip",
            str(tile),
            "--processing_centre",
            "EDRS",
            "--archiving_centre",
            "SGS_",
        ],
        tmp_path / "a",
        capsys,
    )
    assert (
        f"--datastrip {tile}: not a datastrip folder (no MTD_DS.xml" in line
        and "give the Level-1C datastrip" in line
    )
    line = _fails(
        [
            "--mode",
            "generate_datastrip",
            "--datastrip",
            str(l2a_datastrip),
            "--processing_centre",
            "EDRS",
            "--archiving_centre",
            "SGS_",
        ],
        tmp_path / "b",
        capsys,
    )
    assert "is already a Level-2A datastrip" in line
    line = _fails(
        ["--mode", "process_tile", "--datastrip", str(l2a_datastrip), "--tile", str(l1c)],
        tmp_path / "c",
        capsys,
    )
    assert f"--tile {l1c}: not a tile folder (no MTD_TL.xml" in line and "GRANULE/L1C_*" in line


def test_tile_of_another_datastrip(
    l2a_datastrip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sen2cor.testing import L1CSpec, make_l1c

    other = make_l1c(tmp_path / "other", L1CSpec(shape10=(60, 60)))
    tile = next((other / "GRANULE").iterdir())
    line = _fails(
        ["--mode", "process_tile", "--datastrip", str(l2a_datastrip), "--tile", str(tile)], tmp_path, capsys
    )
    assert f"--tile {tile}: belongs to the S2B datastrip" in line and "give the Level-2A datastrip" in line


def test_failure_during_processing_leaves_nothing(
    l1c: Path, l2a_datastrip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "l1c" / l1c.name
    shutil.copytree(l1c, broken)
    b04 = next((broken / "GRANULE").glob("*/IMG_DATA/*_B04.jp2"))
    b04.write_bytes(b04.read_bytes()[:200])  # truncated image: fails in the middle of the run
    line = _fails(
        [
            "--mode",
            "process_tile",
            "--datastrip",
            str(l2a_datastrip),
            "--tile",
            str(next((broken / "GRANULE").iterdir())),
        ],
        tmp_path,
        capsys,
    )
    assert "B04" in line
