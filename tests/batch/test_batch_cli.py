"""L2A_Process with several inputs: 3 small products, one broken, in local processes and on a Dask cluster."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sen2cor.cli.main import main
from sen2cor.testing import L1CSpec, make_l1c

TILES = ("32UPC", "32UPD", "32UQC")
BROKEN = "32UPD"
"""The product whose B04 image is deleted."""

LABEL = "T{tile}_20220615T101559"


@pytest.fixture(scope="session")
def products_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with three 120 x 120 L1C products; the T32UPD one lacks its B04 image."""
    folder = tmp_path_factory.mktemp("l1c")
    for tile in TILES:
        safe = make_l1c(folder, L1CSpec(shape10=(120, 120), tile=tile))
        if tile == BROKEN:
            next(safe.glob("GRANULE/*/IMG_DATA/*_B04.jp2")).unlink()
    return folder


@pytest.fixture
def products(products_source: Path, tmp_path: Path) -> Path:
    """A private copy of the three products (the chain may write next to them)."""
    return Path(shutil.copytree(products_source, tmp_path / "in"))


@pytest.fixture
def real_chain() -> None:
    """The tiles run the real single-product chain (with ``--cr_only``, to stay fast)."""
    assert importlib.util.find_spec("sen2cor.pipeline.run") is not None


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    import distributed
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local_cluster:
        yield local_cluster


def _worker_names(cluster: object) -> set[str]:
    """The cluster's workers by address and as ``host:pid``."""
    pids = cluster.get_client().run(os.getpid)  # type: ignore[attr-defined]
    return {*pids, *(f"{socket.gethostname()}:{pid}" for pid in pids.values())}


def _check_batch(out: Path, stdout: str, stderr: str) -> set[str]:
    """Two L2A products, the summary names the broken tile with its error; returns the worker names."""
    written = sorted(p.name for p in out.glob("S2*_MSIL2A_*.SAFE"))
    assert [re.search(r"_T(\w{5})_", name).group(1) for name in written] == [  # type: ignore[union-attr]
        t for t in TILES if t != BROKEN
    ]
    rows = {line.split()[0]: line for line in stdout.splitlines() if line.startswith("T32U")}
    for tile in TILES:
        row = rows[LABEL.format(tile=tile)]
        if tile == BROKEN:
            assert row.split()[1] == "failed"
            assert "B04" in row and "missing" in row, row
        else:
            assert row.split()[1] == "ok"
            assert str(out) in row and "MSIL2A" in row
    assert "3 tiles: 2 ok, 1 failed" in stdout
    assert stderr.splitlines()[-1] == f"L2A_Process: error: 1 of 3 tiles failed: {LABEL.format(tile=BROKEN)}"
    started = re.findall(r"\[(T\w+)\] started on (\S+)", stdout)
    assert sorted(label for label, _ in started) == [LABEL.format(tile=t) for t in TILES]
    return {worker for _, worker in started}


def test_folder_of_products_in_local_processes(
    products: Path, real_chain: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code = main([str(products), "--cr_only", "--workers", "2", "--output_dir", str(out)])
    captured = capsys.readouterr()
    assert code == 1, captured
    workers = _check_batch(out, captured.out, captured.err)
    assert len(workers) == 2, captured.out  # two worker processes (not this one) shared the three tiles
    assert all(w.rsplit(":", 1)[1] != str(os.getpid()) for w in workers)
    first, second = (LABEL.format(tile=t) for t in TILES[:2])  # started together: the first two tiles
    assert captured.out.index(f"[{second}] started") < captured.out.index(f"[{first}] ok in")
    assert "Processing 3 tiles on 2 local worker process(es)" in captured.out


def test_products_on_a_dask_cluster(
    products: Path,
    real_chain: None,
    tmp_path: Path,
    cluster: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    inputs = sorted(str(p) for p in products.iterdir())
    code = main([*inputs, "--cr_only", "--dask-scheduler", address, "--output_dir", str(out)])
    captured = capsys.readouterr()
    assert code == 1, captured
    workers = _check_batch(out, captured.out, captured.err)  # tile events came back through Dask's topics
    assert workers <= _worker_names(cluster)  # Dask names the worker that logged an event by its address
    assert f"Processing 3 tiles on Dask scheduler {address} (2 workers)" in captured.out


def test_all_ok_exits_0(
    products: Path, real_chain: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(next(p for p in products.iterdir() if BROKEN not in p.name))
    out = tmp_path / "out"
    out.mkdir()
    assert main([good, good, "--cr_only", "--output_dir", str(out)]) == 0  # the same product twice: one tile
    captured = capsys.readouterr()
    assert "1 tile: 1 ok, 0 failed" in captured.out and captured.err == ""
    assert len(list(out.glob("S2*_MSIL2A_*.SAFE"))) == 1
