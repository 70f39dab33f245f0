"""Which complete image an idle encoder takes next at the end of a run: the order that ends soonest.

At the end of the 10 m run the computing is over and a handful of large images are left to encode, one
core each (:func:`sen2cor.runtime.configure_codec`): the TCI (≈ 35 s on the benchmark machine) and four
bands of 17–20 s, then the small 60 m images kept for that end.  Which band a freed core takes decides
when the last one ends: the largest first (by bytes, all four bands alike) left the NIR band, the slowest,
last on one core while the other ran out of work 3.6–3.8 s before it (docs/benchmarks.md, session 24).

:class:`EncodeTimes` records how long each image of a run took to encode and predicts an image of the next
run from the same image (the same band, or the nearest one: B08 from B8A) of the earlier run, per pixel.
Per pixel, a 10 m image encodes faster than at 20 m (another code-stream layout), but alike for all: on the
benchmark tile each 10 m band and the TCI took 2.96–2.98 times as long as its 20 m image (B08: B8A), so
the predictions rank them right once scaled by the run's own measured ratio
(:class:`~sen2cor.io.l2a.stream.StripImages`).  :func:`plan_next` then picks the image that starts the
order with the earliest predicted end.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

PLANNED_IMAGES: Final[int] = 6
"""Images whose orders :func:`plan_next` tries all of (6! = 720); any further ones follow, largest first."""

PREDICTED_FROM: Final[dict[str, str]] = {"B08": "B8A"}
"""Image predicted from another one where the earlier run has no image of that name (the 10 m NIR band,
from the narrow NIR band next to it)."""

_IMAGE_NAME = re.compile(r"_(?P<key>[A-Z0-9]+)_(?P<res>\d+)m\.\w+$")


def image_key(path: Path) -> tuple[str, int] | None:
    """``(key, resolution)`` of a product image file name (``…_B02_20m.jp2`` → ``("B02", 20)``), or None."""
    m = _IMAGE_NAME.search(path.name)
    return (m["key"], int(m["res"])) if m else None


class EncodeTimes:
    """Encoding seconds per pixel of the images written so far, by ``(key, resolution)`` (thread-safe)."""

    def __init__(self) -> None:
        self._rates: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def record(self, path: Path, seconds: float, pixels: int) -> None:
        """``path`` (a product image) took ``seconds`` to encode ``pixels`` pixels (of all its bands)."""
        key = image_key(path)
        if key is not None and pixels > 0:
            with self._lock:
                self._rates[key] = seconds / pixels

    def predict(self, path: Path, pixels: int) -> float | None:
        """Predicted seconds to encode ``pixels`` pixels of the image ``path`` names: the rate of the same
        image (or :data:`PREDICTED_FROM` it) at the finest other resolution recorded; None if none is."""
        key = image_key(path)
        if key is None:
            return None
        name, res = key
        with self._lock:
            known = sorted((r, rate) for (k, r), rate in self._rates.items()
                           if k == PREDICTED_FROM.get(name, name) and r != res)
        return known[0][1] * pixels if known else None


def plan_next(jobs: Mapping[str, float], busy: Sequence[float], filler: float = 0.0) -> str:
    """The job a freed worker should take now: the first of the order with the earliest predicted end.

    Parameters
    ----------
    jobs : mapping of job → predicted seconds
        The complete images not yet encoded (at least one).
    busy : sequence of float
        Predicted seconds left of each other worker's running encoding (0 for an idle worker).
    filler : float
        Seconds of small jobs (the kept 60 m images) that go after these, one at a time, on whichever worker
        is free first: counted as divisible.

    Each order is dealt out to the workers as they free up (this worker at 0 s, the others after ``busy``);
    its end is the last worker's, or with the filler spread evenly, whichever is later.  Ties keep the
    largest job first (the order of :class:`~sen2cor.io.l2a.stream.StripImages` without predictions).
    """
    if not jobs:
        raise ValueError("plan_next: no job to choose from")
    ranked = sorted(jobs, key=lambda k: -jobs[k])
    head, tail = ranked[:PLANNED_IMAGES], ranked[PLANNED_IMAGES:]
    workers = 1 + len(busy)
    best: tuple[float, str] | None = None
    for order in itertools.permutations(head):
        free = [0.0, *busy]
        for job in (*order, *tail):
            i = free.index(min(free))
            free[i] += jobs[job]
        end = max(max(free), (sum(free) + filler) / workers)
        if best is None or end < best[0] - 1e-9:
            best = (end, order[0])
    assert best is not None
    return best[1]
