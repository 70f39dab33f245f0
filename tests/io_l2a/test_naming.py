"""Product, folder, identifier and file names (facts §9)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from sen2cor.errors import ConfigError, ProductError
from sen2cor.io.l2a import l2a_product_name
from sen2cor.io.l2a.naming import L2ANames, baseline_token, parse_product_name, product_name

# Patterns of PSD 14.5 item2A.xsd (restated) that our identifiers must satisfy.
TILE_ID_2A = re.compile(r"^S2(A|B)_OPER_\w{10}_\w{4}_\d{8}T\d{6}_A\d{6}_T\w{5}_N\d{2}\.\d{2}$")
DATASTRIP_ID_2A = re.compile(r"^S2(A|B)_OPER_\w{10}_\w{4}_\d{8}T\d{6}_S\d{8}T\d{6}_N\d{2}\.\d{2}$")
GRANULE_FOLDER = re.compile(r"^L2A_T\w{5}_A\d{6}_\d{8}T\d{6}$")


def test_product_name_matches_sen2cor_example() -> None:
    # the parity-a Sen2Cor 3.3 product, with its N9933 baseline and its generation time
    name = product_name("S2A", datetime(2017, 12, 7, 0, 20, 51, 26000), "99.33", 116, "55JEJ",
                        datetime(2026, 11, 21, 19, 56, 55, 473169))
    assert name == "S2A_MSIL2A_20171207T002051_N9933_R116_T55JEJ_20261121T195655.SAFE"


def test_baseline_token_and_validation() -> None:
    assert baseline_token("99.99") == "N9999"
    assert baseline_token("04.00") == "N0400"
    with pytest.raises(ConfigError):
        baseline_token("4.0")


def test_generation_time_in_utc() -> None:
    aware = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone.utc).astimezone()
    assert product_name("S2B", datetime(2022, 1, 1), "99.99", 7, "32UPC", aware).endswith("_20260102T040405.SAFE")


def test_names_of_generated_product(small_l1c) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 1, 2, 3, 4, 5)
    names = L2ANames.for_product(small_l1c, "99.99", now)
    assert names.product == l2a_product_name(small_l1c, "99.99", now)
    assert names.product == "S2B_MSIL2A_20220615T101559_N9999_R065_T32UPC_20260102T030405.SAFE"
    assert names.granule == "L2A_T32UPC_A027547_20220615T101800"
    assert GRANULE_FOLDER.match(names.granule)
    assert TILE_ID_2A.match(names.tile_id), names.tile_id
    assert DATASTRIP_ID_2A.match(names.datastrip_id), names.datastrip_id
    assert names.datastrip_folder == "DS_2BPS_20260102T030405_S20220615T101800"
    assert names.image_stem("B8A", 20) == "T32UPC_20220615T101559_B8A_20m"
    assert names.mask_stem("CLDPRB", 60) == "MSK_CLDPRB_60m"
    assert names.pvi_stem() == "T32UPC_20220615T101559_PVI"
    assert names.dem_stem(20) == "L2A_T32UPC_20220615T101559_DEM_20m"
    assert parse_product_name(names.product)["gen"] == "20260102T030405"


def test_centres_override_and_extension(small_l1c) -> None:  # type: ignore[no-untyped-def]
    names = L2ANames.for_product(small_l1c, "05.11", datetime(2026, 1, 1), processing_centre="EDRS",
                                 archiving_centre="SGS_", output_format="TIF")
    assert "_MSI_L2A_TL_EDRS_" in names.tile_id and names.tile_id.endswith("_N05.11")
    assert names.archiving_centre == "SGS_"
    assert names.extension == ".tif"


def test_parse_rejects_l1c_names() -> None:
    with pytest.raises(ProductError):
        parse_product_name("S2A_MSIL1C_20171207T002051_N0206_R116_T55JEJ_20171207T032513.SAFE")
