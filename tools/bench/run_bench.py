"""Full-tile benchmark of ``L2A_Process`` (issue 8, item 1).  Not a test: nothing is asserted.

For each mode it runs ``L2A_Process`` on the cached full-size L1C tile of :mod:`build_product` (built first
if missing) into a fresh output folder and reports

* wall time, CPU time (user + sys of the whole process tree, from ``getrusage(RUSAGE_CHILDREN)``),
* peak memory of the whole process tree: the maximum over time of the summed RSS of the process and all its
  descendants, sampled every ``--interval`` s with psutil (and the largest single process, as
  ``/usr/bin/time -v`` would report it),
* the per-stage breakdown parsed from the run's INFO log (the ``timed()`` lines ``<stage>: <s> s``; image
  writing, while it is not timed by the chain, is taken from the log timestamps, ±1 s),
* the codec floor measured in the same benchmark run (:mod:`codec_floor`) and ``wall / floor``,
* the comparison with the real Sen2Cor 3.3 on a machine of this kind (issue 8: 14 min 48 s, 5.4 GB,
  ≈ 570 s of non-codec processing, default run).

Usage::

    nice -n 19 .venv/bin/python tools/bench/run_bench.py [--mode default|tif|sc_only|r10|r20|r60 ...]
        [--profile] [--no-floor] [--repeat N] [--bench-dir D]

``--repeat N`` runs each mode N times, each run followed by a floor of its own, and prints the median
``wall / floor``: on a VM whose speed drifts by ±10 % within an hour, one run and one floor measured
minutes apart decide little (docs/benchmarks.md, session 25).

Results: printed, and saved as JSON in ``$BENCH_DIR/results/``; the run log and (``--profile``) the
py-spy samples and their top functions are kept in ``$BENCH_DIR/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import psutil
import rasterio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_product  # noqa: E402
import codec_floor  # noqa: E402

MODES: Final[dict[str, list[str]]] = {
    "default": [],
    "tif": ["--tif"],
    "sc_only": ["--sc_only"],
    "r10": ["--resolution", "10"],
    "r20": ["--resolution", "20"],
    "r60": ["--resolution", "60"],
}
"""Benchmark mode → extra ``L2A_Process`` options."""


@dataclass(frozen=True)
class Reference:
    """A measured Sen2Cor 3.3 run on the full tile (2 vCPU, 24 GB; ``/usr/bin/time -v``)."""

    wall_s: float
    peak_kib: int
    processing_s: float | None
    source: str


SEN2COR_33: Final[dict[str, Reference]] = {
    "default": Reference(887.89, 5396000, 570.0,
                         "parity-a/sen2cor-3.3-output/full-tile-10980-timing/full_default/time_v.txt; "
                         "≈570 s non-codec processing per issue 8"),
    "r20": Reference(523.66, 3197952, None,
                     "parity-a/sen2cor-3.3-output/full-tile-10980-timing/full_r20/time_v.txt"),
}
"""Sen2Cor 3.3 (real, reconstructed source) on a 10980² tile built from the same kind of real crops."""

STAGE_LINE: Final[re.Pattern[str]] = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) INFO: ([A-Za-z][^:]{0,80}): (\d+(?:\.\d+)?) s\s*$")
WROTE_LINE: Final[re.Pattern[str]] = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) INFO: wrote (\d+) images at (\d+) m")
ANY_LINE: Final[re.Pattern[str]] = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) ")
AC_MARKERS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r" INFO: AOT from "), "AOT (DDV)"),
    (re.compile(r" INFO: water vapour "), "WV (APDA)"),
    (re.compile(r" INFO: AC \d+ m: method "), "surface reflectance"),
)
"""Log lines that end the AOT, WV and surface-reflectance parts of the atmospheric correction (facts §5)."""
SHARED_LUTS: Final[Path] = build_product.SHARED_DATA / "sen2cor-2.8-luts"
"""Sen2Cor 2.8 LUTs (S2A subset) usable as a reference in benchmarks, never shipped (their SOURCE.md)."""


def choose_luts() -> str:
    """Which radiative-transfer tables the run will use; sets ``$SEN2COR_LUT_DIR`` as ``make demo`` does.

    The package's generated 6S tables (``make luts``) or an explicit ``$SEN2COR_LUT_DIR`` win; otherwise the
    Sen2Cor 2.8 tables of ``../shared/data`` are used when present.
    """
    from sen2cor.physics import generated_lut

    if os.environ.get("SEN2COR_LUT_DIR"):
        return f"$SEN2COR_LUT_DIR={os.environ['SEN2COR_LUT_DIR']}"
    if generated_lut.default_path().is_file():
        return f"generated 6S tables {generated_lut.default_path()}"
    if SHARED_LUTS.is_dir():
        os.environ["SEN2COR_LUT_DIR"] = str(SHARED_LUTS.resolve())
        return f"Sen2Cor 2.8 tables of ../shared/data ($SEN2COR_LUT_DIR={os.environ['SEN2COR_LUT_DIR']})"
    return "none found (the atmospheric correction will fail: run 'make luts')"


# ----------------------------------------------------------------------------------------------- sampling
class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until it ends."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_tree = 0
        self.peak_single = 0
        self.peak_at = 0.0
        self.max_procs = 0
        self.samples = 0
        self.timeline: list[tuple[float, int]] = []
        """(Unix time, summed RSS) of every sample: matched with the log lines afterwards."""
        self._halt = threading.Event()
        self._t0 = time.perf_counter()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            if total > self.peak_tree:
                self.peak_tree, self.peak_at = total, time.perf_counter() - self._t0
            self.max_procs = max(self.max_procs, len(procs))
            self.samples += 1
            self.timeline.append((time.time(), total))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


# ------------------------------------------------------------------------------------------------ parsing
def parse_stages(log_text: str, launched: datetime | None = None) -> tuple[list[tuple[str, float]], bool]:
    """Stage durations in log order, completed from the log timestamps (1 s resolution) where untimed.

    ``<stage>: <s> s`` lines are taken as they are.  While the chain does not time them itself, three more
    are derived from timestamps: start-up (``launched`` → the ``processing …`` line: imports, GIPPs,
    L1C metadata), image writing (previous timed line → ``wrote N images at R m``) and finalisation (last
    line → ``product written``: metadata, rename).  Returns the stages and whether any was derived.
    """
    stages: list[tuple[str, float]] = []
    derived = False
    last_ts: datetime | None = None
    marks: list[tuple[str, datetime]] = []  # AC part markers since the last timed line
    timed_writes = any("write" in m.group(2) for m in map(STAGE_LINE.match, log_text.splitlines()) if m)
    for line in log_text.splitlines():
        m = STAGE_LINE.match(line)
        if m:
            name, ts = m.group(2).strip(), datetime.fromisoformat(m.group(1))
            stages.append((name, float(m.group(3))))
            if name.startswith("atmospheric correction") and len(marks) > 1 and last_ts is not None:
                prev = last_ts
                for part, t in marks:  # parts of the AC stage: indented, not added to the total
                    stages.append((f"  ⊂ {part} [log timestamps]", (t - prev).total_seconds()))
                    prev = t
                derived = True
            marks, last_ts = [], ts
            continue
        a = ANY_LINE.match(line)
        if a is None:
            continue
        ts = datetime.fromisoformat(a.group(1))
        for pattern, part in AC_MARKERS:
            if pattern.search(line):
                marks.append((part, ts))
        if " INFO: processing " in line and launched is not None and not stages:
            stages.append(("start-up: imports, GIPPs, L1C metadata [log timestamps]",
                           max(0.0, (ts - launched).total_seconds())))
            derived, last_ts = True, ts
            continue
        w = WROTE_LINE.match(line)
        if w and last_ts is not None and not timed_writes:
            stages.append((f"write/encode {w.group(3)} m, {w.group(2)} images [log timestamps]",
                           (ts - last_ts).total_seconds()))
            derived, last_ts = True, ts
        elif " INFO: product written: " in line and last_ts is not None:
            stages.append(("finalise: metadata, quality report, rename [log timestamps]",
                           (ts - last_ts).total_seconds()))
            derived, last_ts = True, ts
    return stages, derived


def memory_phases(log_text: str, timeline: list[tuple[float, int]], n: int = 8) -> list[tuple[str, int]]:
    """The ``n`` log phases with the highest peak RSS: (log line that opens the phase, peak bytes).

    A phase runs from one timestamped log line to the next (1 s resolution), so a peak is attributed to
    the work that follows the last message before it.
    """
    lines: list[tuple[float, str]] = []
    for line in log_text.splitlines():
        a = ANY_LINE.match(line)
        if a:
            lines.append((datetime.fromisoformat(a.group(1)).timestamp(), line[len(a.group(0)):].strip()))
    if not lines or not timeline:
        return []
    peaks: dict[int, int] = {}
    j = 0
    for t, rss in timeline:
        while j + 1 < len(lines) and lines[j + 1][0] <= t:
            j += 1
        peaks[j] = max(peaks.get(j, 0), rss)
    top = sorted(peaks.items(), key=lambda kv: -kv[1])[:n]
    return [(lines[i][1][:110], b) for i, b in sorted(top)]


# ------------------------------------------------------------------------------------------------ profile
def top_functions(raw: Path, n: int = 10) -> dict[str, list[tuple[str, float]]]:
    """Top ``n`` functions by self and by inclusive share of py-spy raw (collapsed) samples."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    frame_re = re.compile(r"^(.*) \((.*?)(?::\d+)?\)$")
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = []
        for f in stack.split(";")[1:]:  # first entry is the process
            m = frame_re.match(f)
            name = f"{m.group(1)} ({_short(m.group(2))})" if m else f
            frames.append(name)
        if frames:
            self_c[frames[-1]] += c
        for name in set(frames):
            if name.startswith("<module>"):
                continue
            if "sen2cor" in name or "rasterio" in name or "numpy" in name or "scipy" in name:
                incl[name] += c
    if total == 0:
        return {"self": [], "inclusive": []}
    return {"self": [(k, 100.0 * v / total) for k, v in self_c.most_common(n)],
            "inclusive": [(k, 100.0 * v / total) for k, v in incl.most_common(n + 5)]}


def _short(path: str) -> str:
    for key in ("site-packages/", "/src/"):
        if key in path:
            return path.split(key, 1)[1]
    return path


# ------------------------------------------------------------------------------------------------ machine
def machine() -> dict[str, object]:
    """CPU, cores, memory, load and library versions."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    libs = Path(rasterio.__file__).parent.parent / "rasterio.libs"
    opj = sorted(p.name for p in libs.glob("libopenjp2*")) if libs.is_dir() else []
    return {
        "cpu": cpu, "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "nice": os.nice(0), "python": platform.python_version(),
        "gdal": rasterio.__gdal_version__, "rasterio": rasterio.__version__,
        "openjpeg": opj[0].split(".so.")[-1] if opj else "?",
    }


# ---------------------------------------------------------------------------------------------------- run
@dataclass
class RunResult:
    """One ``L2A_Process`` run."""

    mode: str
    command: list[str]
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_tree_bytes: int
    peak_single_bytes: int
    peak_at_s: float
    max_procs: int
    load_before: list[float]
    load_after: list[float]
    stages: list[tuple[str, float]] = field(default_factory=list)
    stages_from_timestamps: bool = False
    product: str | None = None
    output_images: int = 0
    output_bytes: int = 0
    log: str = ""
    profile_top: dict[str, list[tuple[str, float]]] | None = None
    memory_phases: list[tuple[str, int]] = field(default_factory=list)


def l2a_process() -> str:
    """The ``L2A_Process`` console script next to this interpreter (else on PATH)."""
    local = Path(sys.executable).with_name("L2A_Process")
    return str(local) if local.exists() else (shutil.which("L2A_Process") or "L2A_Process")


def run_mode(mode: str, l1c: Path, bench_dir: Path, interval: float, profile: bool) -> RunResult:
    out_root = bench_dir / "out"
    out = out_root / mode
    shutil.rmtree(out, ignore_errors=True)  # the CLI re-uses an existing product: always start empty
    out.mkdir(parents=True)
    log_path = out_root / f"{mode}.log"
    cmd = [l2a_process(), str(l1c), "--output_dir", str(out), *MODES[mode]]
    raw = out_root / f"{mode}.pyspy.txt"
    if profile:
        spy = Path(sys.executable).with_name("py-spy")
        if not spy.exists():
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        cmd = [str(spy), "record", "--nonblocking", "--subprocesses", "-r", "20", "--format", "raw",
               "-o", str(raw), "--", *cmd]
    load_before = [round(x, 2) for x in os.getloadavg()]
    launched = datetime.now().replace(microsecond=0)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log_path, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid, interval)
        sampler.start()
        code = proc.wait()
    wall = time.perf_counter() - start
    sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = log_path.read_text(errors="replace")
    stages, derived = parse_stages(text, launched)
    products = sorted(out.glob("S2*_MSIL2A_*.SAFE"))
    images = codec_floor.output_images(products[0]) if products else []
    return RunResult(
        mode=mode, command=cmd, exit_code=code, wall_s=wall, cpu_s=cpu,
        peak_tree_bytes=sampler.peak_tree, peak_single_bytes=sampler.peak_single, peak_at_s=sampler.peak_at,
        max_procs=sampler.max_procs, load_before=load_before,
        load_after=[round(x, 2) for x in os.getloadavg()],
        stages=stages, stages_from_timestamps=derived, product=str(products[0]) if products else None,
        output_images=len(images), output_bytes=sum(p.stat().st_size for p in images), log=str(log_path),
        profile_top=top_functions(raw) if profile and raw.exists() else None,
        memory_phases=memory_phases(text, sampler.timeline),
    )


# ------------------------------------------------------------------------------------------------- report
def _gb(b: float) -> str:
    return f"{b / 1e9:.2f} GB"


def _mmss(s: float) -> str:
    return f"{int(s // 60)} min {s % 60:04.1f} s" if s >= 60 else f"{s:.1f} s"


def report(r: RunResult, floor: codec_floor.Floor | None, decode_load: list[float] | None,
           full_tile: bool = True) -> list[str]:
    lines = [f"== {r.mode}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(r.command))}",
             f"exit code {r.exit_code}; load average before {r.load_before}, after {r.load_after}",
             f"wall {r.wall_s:.1f} s ({_mmss(r.wall_s)}), CPU {r.cpu_s:.1f} s "
             f"({100 * r.cpu_s / r.wall_s:.0f} % of one core)",
             f"peak RSS, whole process tree {_gb(r.peak_tree_bytes)} (at {r.peak_at_s:.0f} s, "
             f"≤ {r.max_procs} "
             f"processes); largest single process {_gb(r.peak_single_bytes)}",
             f"outputs: {r.output_images} images, {r.output_bytes / 1e6:.0f} MB"]
    if r.stages:
        lines.append("stages" + (" ([log timestamps]: ±1 s)" if r.stages_from_timestamps else "")
                     + ":")
        total = 0.0
        for name, s in r.stages:
            lines.append(f"  {name:<60s} {s:8.1f} s  {100 * s / r.wall_s:5.1f} %")
            total += 0.0 if name.startswith("  ⊂") else s
        lines.append(f"  {'other (untimed remainder)':<60s} {r.wall_s - total:8.1f} s  "
                     f"{100 * (r.wall_s - total) / r.wall_s:5.1f} %")
    if floor is not None:
        lines.append(f"codec floor ({floor.threads} threads, load {decode_load}): decode 13 inputs "
                     f"{floor.decode_s:.1f} s + encode {len(floor.encode)} outputs {floor.encode_s:.1f} s "
                     f"= {floor.total_s:.1f} s")
        for which in ("decode", "encode"):
            per = ", ".join(f"{res} m {d['files']:.0f}× {d['MB']:.0f} MB {d['seconds']:.1f} s "
                            f"{d['MB_per_s']:.1f} MB/s" for res, d in floor.per_resolution(which).items())
            how = " (seconds and MB/s per image; images coded side by side)" if which == "encode" else ""
            lines.append(f"  {which}{how}: {per}")
        if floor.total_s > 0 and r.exit_code == 0:
            lines.append(f"wall / codec floor = {r.wall_s / floor.total_s:.2f} (target JP2 ≤ 1.2); "
                         f"non-codec time {r.wall_s - floor.total_s:.1f} s")
    if r.exit_code != 0:
        tail = Path(r.log).read_text(errors="replace").splitlines()[-5:]
        lines.append("run FAILED: the times above cover only the stages before the failure; no ratios. "
                     "Log tail:")
        lines += [f"  {t}" for t in tail]
        lines.append(f"log: {r.log}")
        return lines
    ref = SEN2COR_33.get(r.mode) if full_tile else None
    if ref is not None:
        txt = (f"vs Sen2Cor 3.3 ({_mmss(ref.wall_s)}, {ref.peak_kib * 1024 / 1e9:.2f} GB): "
               f"wall × {r.wall_s / ref.wall_s:.2f} (speed-up {ref.wall_s / r.wall_s:.1f}), "
               f"peak memory × {r.peak_tree_bytes / (ref.peak_kib * 1024):.2f}")
        if ref.processing_s and floor is not None:
            txt += (f"; non-codec time {r.wall_s - floor.total_s:.0f} s vs ≈ {ref.processing_s:.0f} s: "
                    f"{ref.processing_s / max(r.wall_s - floor.total_s, 1e-3):.1f}× less (target ≥ 20)")
        lines.append(txt)
    if r.mode == "tif" and full_tile:
        lines.append(f"--tif target: wall ≤ 90 s → {'met' if r.wall_s <= 90 else 'not met'} on this run")
    if r.memory_phases:
        lines.append("memory: phases with the highest peak RSS (opening log line → peak):")
        lines += [f"  {_gb(b):>8s}  {what}" for what, b in r.memory_phases]
    met = "met" if r.peak_tree_bytes <= 2e9 else "not met"
    lines.append(f"peak memory target ≤ 2 GB → {met} on this run")
    if r.profile_top:
        lines.append("py-spy top functions (self %):")
        lines += [f"  {p:5.1f} %  {name}" for name, p in r.profile_top["self"]]
        lines.append("py-spy top functions (inclusive %, package/numpy/scipy/rasterio):")
        lines += [f"  {p:5.1f} %  {name}" for name, p in r.profile_top["inclusive"]]
    lines.append(f"log: {r.log}")
    return lines


def compile_package() -> None:
    """Write the package's bytecode, as a wheel install does: with ``PYTHONDONTWRITEBYTECODE`` set (as on
    the benchmark machine) an editable install never writes it, and each run compiled the ≈ 90 modules of
    the chain again (0.2 s under cProfile, 0.05–0.1 s without; session 25)."""
    import sen2cor

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(sen2cor.__file__).parent)], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", action="append", choices=sorted(MODES), help="repeatable; default: default")
    ap.add_argument("--bench-dir", type=Path, default=build_product.default_bench_dir())
    ap.add_argument("--threads", type=int, default=None,
                    help="codec-floor threads (default: Nr_Threads AUTO)")
    ap.add_argument("--interval", type=float, default=0.2, help="memory sampling interval, s")
    ap.add_argument("--no-floor", action="store_true", help="skip the codec floor")
    ap.add_argument("--profile", action="store_true", help="sample the run with py-spy (adds overhead)")
    ap.add_argument("--keep-output", action="store_true", help="keep the L2A products in $BENCH_DIR/out")
    ap.add_argument("--l1c", type=Path, help="benchmark this L1C product instead of the cached full tile")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run each mode N times, each run followed by its own decode and encode floor, and "
                         "print the median ratio (the host's speed drifts between runs)")
    args = ap.parse_args(argv)
    modes = args.mode or ["default"]

    l1c = args.l1c or build_product.product_path(args.bench_dir)
    if l1c is None:
        print(f"building the benchmark product in {args.bench_dir} (once)", flush=True)  # noqa: T201
        l1c = build_product.build(args.bench_dir, threads=2)
    info = machine()
    info["luts"] = choose_luts()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; load {info['load_avg']}; "  # noqa: T201
          f"nice {info['nice']}; GDAL {info['gdal']}, OpenJPEG {info['openjpeg']}, Python {info['python']}")
    print(f"product: {l1c}\nLUTs: {info['luts']}", flush=True)  # noqa: T201

    results_dir = args.bench_dir / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    compile_package()
    decode: list[codec_floor.CodecTiming] | None = None
    decode_load: list[float] | None = None
    threads = args.threads or codec_floor.default_threads()
    worst = 0
    ratios: dict[str, list[float]] = {}
    for mode in [m for m in modes for _ in range(max(1, args.repeat))]:
        print(f"running {mode} …", flush=True)  # noqa: T201
        r = run_mode(mode, l1c, args.bench_dir, args.interval, args.profile)
        floor = None
        if not args.no_floor:
            if decode is None or args.repeat > 1:  # repeated: each run with a floor measured beside it
                decode_load = [round(x, 2) for x in os.getloadavg()]
                decode = codec_floor.measure_apart(l1c, None, threads).decode
            floor = codec_floor.Floor(threads=threads, decode=decode)
            if r.product:
                enc = codec_floor.measure_apart(None, Path(r.product), threads, _scratch(args.bench_dir))
                floor.encode, floor.encode_wall_s = enc.encode, enc.encode_wall_s
        lines = report(r, floor, decode_load, full_tile=args.l1c is None)
        if floor is not None and floor.total_s > 0:
            ratios.setdefault(mode, []).append(r.wall_s / floor.total_s)
        print("\n".join(lines), flush=True)  # noqa: T201
        stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
        record = {"machine": info, "product": str(l1c), "run": r.__dict__,
                  "codec_floor": floor.as_dict() if floor else None, "report": lines}
        (results_dir / f"{stamp}-{mode}.json").write_text(json.dumps(record, indent=1, default=str))
        if not args.keep_output and r.product:
            shutil.rmtree(Path(r.product).parent, ignore_errors=True)
        worst = max(worst, r.exit_code)
    if args.repeat > 1:
        for mode, values in ratios.items():
            print(f"{mode}: wall / codec floor over {len(values)} runs: median {statistics.median(values):.2f} "  # noqa: T201
                  f"(min {min(values):.2f}, max {max(values):.2f}; "
                  f"{sum(v <= 1.2 for v in values)} of {len(values)} ≤ 1.2)")
    return 1 if worst else 0


def _scratch(bench_dir: Path) -> Path:
    d = bench_dir / "scratch"
    d.mkdir(parents=True, exist_ok=True)
    return d


if __name__ == "__main__":
    sys.exit(main())
