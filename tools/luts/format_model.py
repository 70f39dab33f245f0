"""Format the ``NAME = TabulatedAerosol(...)`` line printed by fit_aerosol.py as source for aerosol_models.py.

Usage: python tools/luts/format_model.py FIT_LOG  (prints the formatted assignment)
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from sen2cor.physics.sixs.aerosol import TabulatedAerosol


def fmt_tuple(v: tuple[float, ...]) -> str:
    items = ", ".join(repr(float(x)) for x in v)
    return "(\n" + textwrap.fill(items, 104, initial_indent=" " * 8, subsequent_indent=" " * 8) + ",\n    )"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    line = next(s for s in Path(args[0]).read_text().splitlines() if " = TabulatedAerosol(" in s)
    name, body = line.split(" = ", 1)
    m = eval(body, {"TabulatedAerosol": TabulatedAerosol})  # our own tool's output
    bs = m.backscatter if isinstance(m.backscatter, tuple) else (m.backscatter,) * len(m.ssa)
    print(f"{name}: Final[TabulatedAerosol] = TabulatedAerosol(\n    name={m.name!r},\n"
          f"    extinction={fmt_tuple(m.extinction)},\n    ssa={fmt_tuple(m.ssa)},\n"
          f"    asymmetry={fmt_tuple(m.asymmetry)},\n    backscatter={fmt_tuple(bs)},\n"
          f"    backscatter_g={m.backscatter_g!r},\n    aot_nodes={fmt_tuple(m.aot_nodes)},\n"
          f"    aot_scale={fmt_tuple(m.aot_scale)},\n)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
