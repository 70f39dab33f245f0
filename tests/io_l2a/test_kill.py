"""A run killed with SIGKILL in the middle of writing leaves no product; the next run succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sen2cor.io.l2a import L2AWriter, ProcessingInfo

from .conftest import NOW, synthetic_result

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[4])
    from conftest import synthetic_result
    from sen2cor.io.l1c import read_l1c
    from sen2cor.io.l2a import L2AWriter, ProcessingInfo, writer as wmod

    marker = Path(sys.argv[3])
    real = wmod.write_image
    count = [0]

    def slow_write(*args, **kwargs):
        out = real(*args, **kwargs)
        count[0] += 1
        if count[0] == 5:          # five images are on disk, the product is half written
            marker.write_text("mid-write")
            time.sleep(60)
        return out

    wmod.write_image = slow_write
    l1c = read_l1c(sys.argv[1])
    with L2AWriter(l1c, Path(sys.argv[2]), ProcessingInfo()) as w:
        w.write_resolution(synthetic_result(l1c, 20), aggregate_to_60=True)
        w.write_metadata()
        w.finalise()
""")


@pytest.mark.skipif(sys.platform == "win32", reason="missing resource: SIGKILL is POSIX")
def test_sigkill_mid_write_leaves_no_product(small_l1c, small_l1c_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    marker = tmp_path / "marker"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(small_l1c_path), str(out), str(marker),
                             str(Path(__file__).parent)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "child ended before reaching the kill point"
            assert time.monotonic() < deadline, "child did not reach the kill point"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()

    leftovers = sorted(p.name for p in out.iterdir())
    assert not [n for n in leftovers if n.startswith("S2")], "a (half) product is visible"
    assert len(leftovers) == 1 and leftovers[0].startswith(".S2B_MSIL2A_") and ".tmp-" in leftovers[0]

    with L2AWriter(small_l1c, out, ProcessingInfo(), now=NOW) as w:
        assert w.existing is None
        w.write_resolution(synthetic_result(small_l1c, 20), aggregate_to_60=True)
        w.write_metadata()
        product = w.finalise()
    assert sorted(p.name for p in out.iterdir()) == [product.name], "stale temporary folder not removed"
    assert (product / "MTD_MSIL2A.xml").is_file()
