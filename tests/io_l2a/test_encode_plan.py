"""The order of the last encodings of a run (:mod:`sen2cor.io.l2a.encode_plan`)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from sen2cor.io.l2a.encode_plan import EncodeTimes, image_key, plan_next

# The end of the benchmark tile's 10 m run (docs/benchmarks.md, session 24): seconds each image took.
BANDS = {"B02": 17.6, "B03": 17.9, "B04": 18.3, "B08": 19.8}
FILLER = 5.7  # the 60 m images kept for the end


def _end(order: list[str], busy: float, jobs: dict[str, float], filler: float) -> float:
    """The end of ``order`` dealt to two workers (one free now, one after ``busy``), filler spread."""
    free = [0.0, busy]
    for k in order:
        i = free.index(min(free))
        free[i] += jobs[k]
    return max(max(free), (sum(free) + filler) / 2)


def test_the_slowest_band_goes_to_the_core_freed_first_at_the_end() -> None:
    """TCI done, B03 still 8 s to go, B04 and B08 left: the worker freed now takes B08 (the largest by bytes,
    B04, finished first, ended the run 1.5 s later with the other core idle)."""
    jobs = {k: BANDS[k] for k in ("B04", "B08")}
    assert plan_next(jobs, [8.0], FILLER) == "B08"
    assert _end(["B08", "B04"], 8.0, jobs, FILLER) < _end(["B04", "B08"], 8.0, jobs, FILLER) - 1.0


def test_the_first_choice_starts_an_order_that_ends_soonest() -> None:
    """Four bands left while the TCI has 27.5 s to go: taking the slowest band first is not what ends
    soonest; the choice starts an order whose end no other order beats."""
    choice = plan_next(BANDS, [27.5], FILLER)
    assert choice != "B08"
    best = min(_end(list(o), 27.5, BANDS, FILLER) for o in itertools.permutations(BANDS))
    rest = [k for k in BANDS if k != choice]
    assert min(_end([choice, *o], 27.5, BANDS, FILLER) for o in itertools.permutations(rest)) == pytest.approx(best)


def test_ties_and_single_jobs_keep_the_largest_first() -> None:
    assert plan_next({"A": 3.0}, [0.0]) == "A"
    assert plan_next({"A": 2.0, "B": 5.0, "C": 2.0}, [0.0, 0.0]) == "B"  # three idle workers: all at once
    assert plan_next({"A": 4.0, "B": 4.0}, [1.0]) == "A"
    many = {f"J{i}": float(i) for i in range(1, 10)}  # more than PLANNED_IMAGES: the rest follow, largest first
    assert plan_next(many, [0.0]) in many
    with pytest.raises(ValueError, match="no job"):
        plan_next({}, [0.0])


def test_encode_times_predict_from_the_same_image_at_another_resolution() -> None:
    times = EncodeTimes()
    assert image_key(Path("T33UUU_20220616T102031_B8A_20m.jp2")) == ("B8A", 20)
    assert image_key(Path("MSK_CLDPRB_20m.jp2")) == ("CLDPRB", 20) and image_key(Path("x.jp2")) is None
    times.record(Path("T33UUU_20220616T102031_B02_20m.jp2"), 6.0, 30_000_000)
    times.record(Path("T33UUU_20220616T102031_B02_60m.jp2"), 0.9, 3_000_000)
    times.record(Path("T33UUU_20220616T102031_B8A_20m.jp2"), 7.5, 30_000_000)
    assert times.predict(Path("T_B02_10m.jp2"), 120_000_000) == pytest.approx(24.0)  # finest other: 20 m
    assert times.predict(Path("T_B02_20m.jp2"), 30_000_000) == pytest.approx(9.0)  # not from itself: 60 m
    assert times.predict(Path("T_B08_10m.jp2"), 120_000_000) == pytest.approx(30.0)  # from B8A
    assert times.predict(Path("T_B03_10m.jp2"), 120_000_000) is None
    assert times.predict(Path("preview.jp2"), 10) is None
