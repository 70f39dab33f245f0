"""Images written in row strips and encoded in the background (io/l2a/stream.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from sen2cor.io.l2a.raster import Georef
from sen2cor.io.l2a.stream import EncodeJobs, EncoderPool, StripImage, StripImages

GEOREF = Georef("EPSG:32633", Affine(20.0, 0.0, 300000.0, 0.0, -20.0, 5500020.0))


def _rgb(shape: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(1, 255, (3, *shape)).astype(np.uint8)


@pytest.mark.parametrize(("fmt", "suffix"), [("JP2", ".jp2"), ("TIF", ".tif"), ("RAW", ".raw")])
def test_three_band_image_written_band_by_band_and_strip_by_strip(tmp_path: Path, fmt: str, suffix: str) -> None:
    """A TCI written one channel at a time, in strips of rows, is the image (lossless in every format); the
    staging file is gone afterwards."""
    rgb = _rgb((70, 64))
    img = StripImage(tmp_path / f"TCI{suffix}", (70, 64), "uint8", GEOREF, fmt=fmt, resolution=20, count=3,
                     scratch_dir=tmp_path)
    for k in (2, 0, 1):  # any channel order
        for r0 in range(0, 70, 32):
            img.write(r0, rgb[k, r0:r0 + 32], band=k + 1)
    path = img.close()
    with rasterio.open(path) as ds:
        assert ds.count == 3 and np.array_equal(ds.read(), rgb)
    assert not list(tmp_path.glob("*.stage.tif"))
    other = StripImage(tmp_path / f"X{suffix}", (70, 64), "uint8", GEOREF, fmt=fmt, resolution=20, count=3)
    with pytest.raises(ValueError, match="2-D"):
        other.write(0, rgb[:, :8], band=1)
    other.discard()


def test_multiband_geotiff_windows_are_written_once_their_bands_are_in(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``--tif`` a window goes into the compressed file as soon as its last band arrives (not in a copy
    at the end); a window that never gets all its bands is written at ``close`` with zeros for the rest."""
    rgb = _rgb((70, 64))
    img = StripImage(tmp_path / "TCI.tif", (70, 64), "uint8", GEOREF, fmt="TIF", resolution=20, count=3,
                     scratch_dir=tmp_path)
    assembled: list[tuple[int, int, int, int]] = []
    real = img._assemble
    monkeypatch.setattr(img, "_assemble", lambda key: (assembled.append(key), real(key)))
    for r0 in (0, 32):
        for k in (2, 0, 1):
            img.write(r0, rgb[k, r0:r0 + 32], band=k + 1)
        assert assembled[-1] == (r0, 0, 32, 64)  # at its last band, before the next window starts
    img.write(64, rgb[0, 64:], band=1)  # the last rows get one band only
    assert len(assembled) == 2
    path = img.close()
    expected = rgb.copy()
    expected[1:, 64:] = 0
    with rasterio.open(path) as ds:
        assert ds.count == 3 and ds.compression is not None and np.array_equal(ds.read(), expected)
    assert len(assembled) == 3 and not list(tmp_path.glob("*.stage.tif"))


def test_images_finished_early_are_encoded_in_the_background(tmp_path: Path) -> None:
    """``finish`` encodes one image while the others are still written; ``finish_all`` ends the rest."""
    data = {k: np.full((40, 48), v, np.uint16) for k, v in (("A", 11), ("B", 22), ("C", 33))}
    images = StripImages({k: StripImage(tmp_path / f"{k}.jp2", (40, 48), "uint16", GEOREF, fmt="JP2",
                                        resolution=20, scratch_dir=tmp_path) for k in data})
    images["A"].write(0, data["A"])
    images.finish("A")
    for k in ("B", "C"):
        images[k].write(0, data[k])
    paths = images.finish_all()
    assert sorted(p.name for p in paths) == ["A.jp2", "B.jp2", "C.jp2"] and len(images) == 3 and "B" in images
    for k, v in data.items():
        with rasterio.open(tmp_path / f"{k}.jp2") as ds:
            assert np.array_equal(ds.read(1), v)
    assert not list(tmp_path.glob("*.stage.tif"))


def test_discard_after_an_error_leaves_no_staging_file(tmp_path: Path) -> None:
    images = StripImages({k: StripImage(tmp_path / f"{k}.jp2", (40, 48), "uint16", GEOREF, fmt="JP2",
                                        resolution=20, scratch_dir=tmp_path) for k in ("A", "B")})
    images["A"].write(0, np.ones((40, 48), np.uint16))
    images.finish("A")
    images.discard()  # B was never finished: its staging file goes, no B.jp2
    assert not (tmp_path / "B.jp2").exists()
    assert not list(tmp_path.glob("*.stage.tif"))


class _TimedImage:
    """Stands in for a :class:`StripImage`: ``close`` takes a while and records how many run at once."""

    def __init__(self, name: str, log: dict[str, object], nbytes: int = 1) -> None:
        self.name, self.log, self.nbytes = name, log, nbytes
        self.discarded = False

    def close(self) -> Path:
        lock = self.log["lock"]
        with lock:  # type: ignore[attr-defined]
            self.log["active"] += 1  # type: ignore[operator]
            self.log["peak"] = max(self.log["peak"], self.log["active"])  # type: ignore[call-overload]
        time.sleep(0.15)
        with lock:  # type: ignore[attr-defined]
            self.log["active"] -= 1  # type: ignore[operator]
            self.log["closed"].append(self.name)  # type: ignore[attr-defined]
        return Path(self.name)

    def discard(self) -> None:
        self.discarded = True


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def _timed(names: str, sizes: dict[str, int] | None = None) -> tuple[dict[str, _TimedImage], dict[str, object]]:
    log: dict[str, object] = {"lock": threading.Lock(), "active": 0, "peak": 0, "closed": []}
    return {n: _TimedImage(n, log, (sizes or {}).get(n, 1)) for n in names}, log


def test_one_encoding_at_a_time_until_finish_all_then_all_workers() -> None:
    """While the caller computes, images finished early are encoded one at a time; from ``finish_all`` on
    (the computing is over) ``workers`` at once."""
    fakes, log = _timed("ABCD")
    images = StripImages(fakes, workers=2)  # type: ignore[arg-type]
    for k in "AB":
        images.finish(k)
    _until(lambda: len(log["closed"]) == 2)  # type: ignore[arg-type]  # "computing": one after the other
    assert log["peak"] == 1 and log["closed"] == ["A", "B"]
    images.finish_all()  # C and D side by side
    assert log["peak"] == 2 and sorted(log["closed"]) == list("ABCD")  # type: ignore[call-overload]


def test_the_largest_complete_image_is_encoded_next() -> None:
    """Each encoding takes the largest image finished and not yet encoded (the first finished of equal ones):
    a 10 m TCI, three times a band, does not end the run alone."""
    fakes, log = _timed("ABCT", {"A": 2, "B": 2, "C": 2, "T": 6})
    images = StripImages(fakes, workers=1)  # type: ignore[arg-type]
    images.finish("A")
    _until(lambda: log["active"] == 1)  # A is being encoded; B, T and C wait for it
    for k in "BTC":
        images.finish(k)
    images.finish_all()
    assert log["closed"] == ["A", "T", "B", "C"]


def test_strip_image_size_counts_bands_and_pixel_type(tmp_path: Path) -> None:
    tci = StripImage(tmp_path / "TCI.jp2", (40, 48), "uint8", GEOREF, fmt="JP2", resolution=20, count=3,
                     scratch_dir=tmp_path)
    band = StripImage(tmp_path / "B02.jp2", (40, 48), "uint16", GEOREF, fmt="JP2", resolution=20,
                      scratch_dir=tmp_path)
    assert (tci.nbytes, band.nbytes) == (40 * 48 * 3, 40 * 48 * 2)
    tci.discard()
    band.discard()


def test_discard_skips_the_images_waiting_for_their_turn() -> None:
    fakes, log = _timed("ABC")
    images = StripImages(fakes, workers=2)  # type: ignore[arg-type]
    for k in "ABC":
        images.finish(k)  # A runs, B waits for the one place, C is queued
    _until(lambda: log["active"] == 1)
    images.discard()
    assert log["closed"] == ["A"]
    assert all(f.discarded for f in fakes.values())  # a no-op for A, the file of a real image is kept


def _holding_encoder() -> tuple[Callable[..., Path], threading.Event, threading.Event, dict[str, int]]:
    """A stand-in encode function recording the thread of each path; ``hold=True`` sets ``started`` and
    waits for ``release``."""
    release, started, threads = threading.Event(), threading.Event(), {}

    def encode(path: str, hold: bool = False) -> Path:
        threads[path] = threading.get_ident()
        if hold:
            started.set()
            release.wait(5.0)
        return Path(path)

    return encode, release, started, threads


def test_full_background_pool_lets_the_caller_encode() -> None:
    """``caller_runs``: with the one background worker busy, the next image is encoded on the caller's
    thread at once instead of the caller waiting."""
    encode, release, started, threads = _holding_encoder()

    pool = EncoderPool(1, pending=1, background=True, caller_runs=True)
    pool.submit(encode, "first", hold=True)
    assert started.wait(5.0)
    assert pool.submit(encode, "second") == Path("second")
    assert threads["second"] == threading.get_ident() != threads["first"]
    release.set()
    pool.wait()
    queued = EncoderPool(1, pending=2, background=True, caller_runs=True)  # one image may wait for the worker
    release.clear()
    started.clear()
    queued.submit(encode, "busy", hold=True)
    assert started.wait(5.0)
    queued.submit(encode, "queued")  # waits for the worker: the caller goes on at once
    assert queued.submit(encode, "own") == Path("own") and threads["own"] == threading.get_ident()
    release.set()
    queued.wait()
    assert threads["queued"] == threads["busy"] != threading.get_ident()
    waiting = EncoderPool(1, pending=1, background=True)  # without: the caller waits for the worker
    release.clear()
    waiting.submit(encode, "third", hold=True)
    threading.Timer(0.2, release.set).start()
    waiting.submit(encode, "fourth")
    waiting.wait()
    assert threads["fourth"] == threads["third"] != threading.get_ident()


def test_full_pool_caller_encodes_the_smaller_image() -> None:
    """When the pool is full, the caller encodes the smaller of the new image and the one waiting for the
    worker (by ``cost``): a large new image takes the waiting one's place, which the caller encodes."""
    encode, release, started, threads = _holding_encoder()

    pool = EncoderPool(1, pending=2, background=True, caller_runs=True)
    pool.submit(encode, "busy", hold=True, cost=60)
    assert started.wait(5.0)
    pool.submit(encode, "band", cost=60)  # waits for the worker
    assert pool.submit(encode, "tci", cost=90) == Path("tci")  # larger: it waits, the caller takes "band"
    assert threads["band"] == threading.get_ident() and "tci" not in threads
    assert pool.submit(encode, "pvi", cost=1) == Path("pvi")  # smaller than the waiting TCI: the caller's
    assert threads["pvi"] == threading.get_ident()
    release.set()
    pool.wait()
    assert threads["tci"] == threads["busy"] != threading.get_ident()
    assert len(pool.futures) == 2  # the job taken back is not waited for again


def test_whole_images_handed_to_strip_images_are_written_among_them(tmp_path: Path) -> None:
    """``StripImages.submit``: an in-memory image (another resolution's) is written by the same encoders
    from ``finish_all`` on (not while the caller computes, even with no strip image to encode), largest
    first, so after the larger strip images; it is not one of the strip images' keys; after an error it
    is not written."""
    fakes, log = _timed("AB", {"A": 10, "B": 10})
    images = StripImages(fakes, workers=1)  # type: ignore[arg-type]
    written = []

    def write(path: Path, data: np.ndarray) -> Path:
        written.append((path.name, log["closed"][:]))  # type: ignore[index]
        path.write_bytes(data.tobytes())
        return path

    assert images.submit(write, tmp_path / "small_60m.jp2", np.ones(2, np.uint8), cost=2) == tmp_path / "small_60m.jp2"
    time.sleep(0.2)  # the encoder is free, the caller "computes": the 60 m image waits
    assert written == []
    images.finish("A")
    _until(lambda: log["closed"] == ["A"])
    images.finish("B")
    assert len(images) == 2 and list(images) == ["A", "B"] and str(tmp_path / "small_60m.jp2") not in images
    images.finish_all()
    assert written == [("small_60m.jp2", ["A", "B"])]
    with pytest.raises(ValueError, match="twice"):
        images.submit(write, tmp_path / "small_60m.jp2", np.ones(2, np.uint8))
    fakes, log = _timed("C")
    failed = StripImages(fakes, workers=1)  # type: ignore[arg-type]
    failed._discarding = True  # as after an error: nothing more is encoded
    failed.submit(write, tmp_path / "lost.jp2", np.ones(2, np.uint8), cost=2)
    failed.discard()
    assert not (tmp_path / "lost.jp2").exists() and len(written) == 1


def test_fill_runs_kept_jobs_on_idle_workers_while_the_pool_is_busy() -> None:
    """``EncoderPool.fill``: while the pool's last encoding runs on one of two workers, kept jobs run on the
    other, one at a time and in the order kept; once the pool's own encodings are over no more start, and
    the rest stays kept for another encoder."""
    encode, release, started, threads = _holding_encoder()
    pool = EncoderPool(2)
    pool.submit(encode, "last_20m", hold=True)
    assert started.wait(5.0)
    ran: list[str] = []

    def write(path: str, ends_the_run: bool = False) -> Path:
        ran.append(path)
        threads[path] = threading.get_ident()
        if ends_the_run:  # the pool's own encoding ends while this one runs
            release.set()
            _until(lambda: pool.futures[0].done())
        return Path(path)

    jobs = EncodeJobs()
    assert jobs.submit(write, "TCI_60m", cost=3) == Path("TCI_60m")
    jobs.submit(write, "B01_60m", ends_the_run=True, cost=2)
    jobs.submit(write, "B02_60m", cost=2)
    assert pool.fill(jobs) == 2
    pool.wait()
    jobs.wait_started()
    assert ran == ["TCI_60m", "B01_60m"] and len(jobs) == 1
    assert threading.get_ident() not in {threads["TCI_60m"], threads["B01_60m"]}
    later = EncoderPool(1)
    assert jobs.hand_to(later) == [Path("B02_60m")] and ran[-1] == "B02_60m" and len(jobs) == 0
    idle = EncoderPool(2)  # nothing running: nothing is started
    jobs.submit(write, "AOT_60m")
    assert idle.fill(jobs) == 0 and len(jobs) == 1


def test_a_filler_still_running_is_waited_for_by_its_jobs_not_by_the_pool() -> None:
    """The pool's ``wait`` returns once its own encodings are done, while a job ``fill`` started runs on
    (the next run's set-up goes on beside it); ``EncodeJobs.wait_started`` waits for it and re-raises its
    failure, ``clear`` (a failed run) waits for it without raising."""
    encode, release, started, _ = _holding_encoder()
    pool = EncoderPool(2)
    pool.submit(encode, "last_20m", hold=True)
    assert started.wait(5.0)
    filler_running, filler_release = threading.Event(), threading.Event()

    def slow(path: str, fail: bool = False) -> Path:
        filler_running.set()
        release.set()  # the pool's own encoding ends while the filler runs
        assert filler_release.wait(5.0)
        if fail:
            raise OSError(f"{path}: disk full")
        return Path(path)

    jobs = EncodeJobs()
    jobs.submit(slow, "B01_60m", fail=True, cost=2)
    assert pool.fill(jobs) == 1
    pool.wait()  # returns with the filler still running
    assert filler_running.is_set() and not filler_release.is_set()
    filler_release.set()
    with pytest.raises(OSError, match="B01_60m: disk full"):
        jobs.wait_started()
    jobs.wait_started()  # nothing left to wait for

    filler_running.clear()
    filler_release.clear()
    release.clear()
    started.clear()
    again = EncoderPool(2)
    again.submit(encode, "last_20m", hold=True)
    assert started.wait(5.0)
    jobs.submit(slow, "B02_60m", fail=True, cost=2)
    assert again.fill(jobs) == 1
    again.wait()
    threading.Timer(0.2, filler_release.set).start()
    jobs.clear()  # waits for the failing filler, raises nothing
    assert filler_release.is_set() and len(jobs) == 0
