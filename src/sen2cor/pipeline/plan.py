"""Which resolutions a run processes, in which order (pure; facts §5 item 1, user manual §2.4).

* no ``--resolution``: 20 m, then 10 m (re-using the 20 m SCL/AOT/WV); R60m aggregated from 20 m when
  ``Downsample_20_to_60`` is TRUE;
* ``--resolution 20``: 20 m (+ aggregated 60 m);
* ``--resolution 10``: 10 m, which needs a 20 m run of the same product first (made if missing);
* ``--resolution 60``: natively at 60 m.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResolutionPlan:
    """``runs``: the processing runs in order; ``aggregate_60``: write R60m from the 20 m run."""

    runs: tuple[int, ...]
    aggregate_60: bool

    @property
    def classification_resolution(self) -> int:
        """Resolution the scene classification runs at (20 m, or 60 m for a native 60 m run)."""
        return 60 if self.runs == (60,) else 20

    @property
    def products(self) -> tuple[int, ...]:
        """Resolution folders the finished product holds."""
        out = set(self.runs) | ({60} if self.aggregate_60 else set())
        return tuple(sorted(out))


def plan_resolutions(resolution: int | None, downsample_20_to_60: bool) -> ResolutionPlan:
    """The :class:`ResolutionPlan` of a ``--resolution`` option and the GIPP ``Downsample_20_to_60``."""
    if resolution == 60:
        return ResolutionPlan((60,), False)
    if resolution == 20:
        return ResolutionPlan((20,), downsample_20_to_60)
    return ResolutionPlan((20, 10), downsample_20_to_60)
