"""seedsieve against php_mt_seed on the same job, side by side in one run.

The job: PHP 7.1+ ``mt_srand(seed)`` then 4 x ``mt_rand(0, 999)``, a random planted seed, every
seed of the range. php_mt_seed is built from ``/work/shared/peers/php_mt_seed`` (or
``--peer-dir``) with its own Makefile in a temporary folder; seedsieve runs as its CLI
(``python -m prng_assets.cli crack``) from this checkout. Each tool runs as a child process,
measured with GNU time (else ``os.wait4``): wall, user+sys CPU-seconds, peak RSS. A ratio above
1 means seedsieve is faster.

php_mt_seed always scans all 2^32 seeds; for ``--seeds-bits`` below 32 the copy's loop bound is
lowered (one line, printed), so both tools scan the same ``[0, 2^bits)``. php_mt_seed also
scans the legacy PHP 3.0.7-5.2.0 flavour first (a second or so) and checks 5.2.1-7.0 and 7.1+
together: that is its normal cost for this job, and it is counted.

    python bench/peer_bench.py                    # the full 2^32 (minutes)
    python bench/peer_bench.py --seeds-bits 28    # 1/16 of it, quick
    python bench/peer_bench.py --repeats 3        # alternating runs, medians (a loaded machine)

With ``--repeats N`` the two tools run in turn N times (peer first, then seedsieve, and so on,
so a change in the machine's load falls on both), every run is printed, and the summary rows are
the medians of each column; the ratios are those of the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PEER_DIR = Path("/work/shared/peers/php_mt_seed")
GNU_TIME = Path("/usr/bin/time")
DRAW = "mt_rand:0:999"
LOW, HIGH = 0, 999
# php_mt_seed's outer loop bound; lowered in the copy for a smaller seed range
TOP_LINE = "top = 0x40000000 >> (P - 2 + shift);"
STEP_CALL = "recent = crack_range(base, base + step, match, flavor);"


@dataclass(frozen=True)
class Run:
    """One tool's run on the job, as the kernel measured it."""

    tool: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    seeds: int
    planted_found: bool
    found: list[int]
    note: str = ""

    @property
    def per_cpu_s(self) -> float:
        return self.seeds / self.cpu_s if self.cpu_s > 0 else float("nan")

    @property
    def per_wall_s(self) -> float:
        return self.seeds / self.wall_s if self.wall_s > 0 else float("nan")


def measured(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, float, str]:
    """Run ``cmd``; (wall s, user+sys s, peak RSS MB, stdout). Fails loudly on a non-zero exit.

    GNU time measures when it is there: a child forked from this Python counts the parent's
    pages in its peak RSS until it execs, which would hide a small tool's own footprint.
    """
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "time"
        if GNU_TIME.is_file():
            cmd = [str(GNU_TIME), "-f", "%U %S %M", "-o", str(stats), *cmd]
        with open(Path(tmp) / "out", "w+") as out, open(Path(tmp) / "err", "w+") as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
            _pid, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            code = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            text = out.read()
            if code != 0:
                raise RuntimeError(f"{cmd} exited {code}: {err.read()[-2000:]}")
        if GNU_TIME.is_file():
            user, sys_s, rss_kb = stats.read_text().split()[-3:]
            return wall, float(user) + float(sys_s), int(rss_kb) / 1024, text
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def plant(seed: int, python: str) -> list[int]:
    """The job's 4 draws, from seedsieve's generator in a child: this process stays small, since
    a forked child's peak RSS counts its parent's pages until it execs."""
    code = (
        "from gpu_executors.prng.draws import generate_draws, parse_draw;"
        "from gpu_executors.prng.generators import get_generator;"
        f"print(*generate_draws(get_generator('php_mt_rand'), parse_draw('{DRAW}'), {seed}, 4))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True, check=True)
    return [int(v) for v in out.stdout.split()]


def build_peer(peer_dir: Path, work: Path, bits: int) -> tuple[Path | None, str]:
    """Copy and build php_mt_seed; (binary, note), binary None with the reason when it cannot."""
    missing = [tool for tool in ("gcc", "make") if shutil.which(tool) is None]
    if missing:
        return None, f"skipped: {' and '.join(missing)} not found"
    if not (peer_dir / "php_mt_seed.c").is_file():
        return None, f"skipped: no php_mt_seed.c in {peer_dir}"
    src = work / "php_mt_seed"
    shutil.copytree(peer_dir, src)
    note = "unmodified"
    if bits < 32:
        c_file = src / "php_mt_seed.c"
        text = c_file.read_text()
        if TOP_LINE not in text or STEP_CALL not in text:
            return None, "skipped: cannot lower php_mt_seed's seed range (source changed)"
        text = text.replace(TOP_LINE, f"{TOP_LINE} top >>= {32 - bits};")
        text = text.replace(
            STEP_CALL,
            "recent = crack_range(base, top - base < step ? top : base + step, match, flavor);",
        )
        c_file.write_text(text)
        note = f"loop bound lowered to 2^{bits} seeds"
    build = subprocess.run(["make"], cwd=src, capture_output=True, text=True)
    if build.returncode != 0:
        return None, f"skipped: make failed: {build.stderr[-500:]}"
    return src / "php_mt_seed", note


def run_peer(binary: Path, draws: list[int], planted: int, seeds: int, note: str) -> Run:
    args = [str(binary)]
    for v in draws:
        args += [str(v), str(v), str(LOW), str(HIGH)]
    wall, cpu, rss, out = measured(args, binary.parent)
    found = sorted({int(m) for m in re.findall(r"= (\d+) \(PHP 7\.1\.0\+\)", out)})
    return Run("php_mt_seed", wall, cpu, rss, seeds, planted in found, found, note)


def run_seedsieve(draws: list[int], planted: int, seeds: int, python: str) -> Run:
    cmd = [
        python,
        "-m",
        "prng_assets.cli",
        "crack",
        "--generator",
        "php_mt_rand",
        "--draw",
        DRAW,
        "--seeds",
        f"0:{seeds}",
        "--json",
        *map(str, draws),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall, cpu, rss, out = measured(cmd, ROOT, env)
    report = json.loads(out)
    found = sorted(int(s["seed"]) for s in report["survivors"])
    note = f"{report['backend']}; scanning {report['seconds']:.1f} s"
    return Run("seedsieve crack", wall, cpu, rss, seeds, planted in found, found, note)


def median_run(runs: list[Run]) -> Run:
    """Each column's median over one tool's repeats (seeds and tool are the same in all)."""
    first = runs[0]
    if len(runs) == 1:
        return first
    return Run(
        first.tool,
        statistics.median(r.wall_s for r in runs),
        statistics.median(r.cpu_s for r in runs),
        statistics.median(r.peak_rss_mb for r in runs),
        first.seeds,
        all(r.planted_found for r in runs),
        first.found,
        f"median of {len(runs)}; {first.note}",
    )


def print_rows(runs: list[Run]) -> None:
    print(
        f"{'tool':<16} {'wall s':>8} {'CPU s':>8} {'M seeds/CPU-s':>14} {'peak RSS MB':>12}  "
        "planted found  note"
    )
    for r in runs:
        print(
            f"{r.tool:<16} {r.wall_s:>8.1f} {r.cpu_s:>8.1f} {r.per_cpu_s / 1e6:>14.1f} "
            f"{r.peak_rss_mb:>12.1f}  {r.planted_found!s:<13}  {r.note}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds-bits", type=int, default=32, help="scan [0, 2^BITS) (24..32)")
    parser.add_argument("--seed", type=int, help="the planted seed (default: random in range)")
    parser.add_argument("--peer-dir", type=Path, default=PEER_DIR)
    parser.add_argument("--python", default=sys.executable, help="runs seedsieve's CLI")
    parser.add_argument("--skip-peer", action="store_true", help="seedsieve only")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs; medians")
    args = parser.parse_args()
    if not 24 <= args.seeds_bits <= 32:
        parser.error("--seeds-bits must be in [24, 32]")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    seeds = 1 << args.seeds_bits
    planted = random.randrange(seeds) if args.seed is None else args.seed
    if not 0 <= planted < seeds:
        parser.error(f"--seed must be in [0, 2^{args.seeds_bits})")
    draws = plant(planted, args.python)
    load = os.getloadavg()[0]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load:.2f}"
    )
    print(
        f"# job: mt_srand({planted}); 4 x mt_rand({LOW}, {HIGH}) = {draws}; "
        f"seeds [0, 2^{args.seeds_bits})"
    )
    peer_runs: list[Run] = []
    our_runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="peer_bench-") as tmp:
        binary = None
        if args.skip_peer:
            print("# php_mt_seed: skipped (--skip-peer)")
        else:
            binary, note = build_peer(args.peer_dir, Path(tmp), args.seeds_bits)
            if binary is None:
                print(f"# php_mt_seed: {note}")
        for i in range(args.repeats):
            if binary is not None:
                peer_runs.append(run_peer(binary, draws, planted, seeds, note))
            our_runs.append(run_seedsieve(draws, planted, seeds, args.python))
            if args.repeats > 1:
                print(f"# repeat {i + 1}, load average {os.getloadavg()[0]:.2f}")
                print_rows([*peer_runs[-1:], our_runs[-1]])
    every = [*peer_runs, *our_runs]
    runs = [median_run(r) for r in (peer_runs, our_runs) if r]
    if args.repeats > 1:
        print(f"# medians of {args.repeats}")
    print_rows(runs)
    ratios = {}
    if len(runs) == 2:
        peer, ours = runs
        ratios = {
            "per_wall": ours.per_wall_s / peer.per_wall_s,
            "per_cpu_second": ours.per_cpu_s / peer.per_cpu_s,
        }
        print(
            f"seedsieve / php_mt_seed: {ratios['per_wall']:.2f}x per wall, "
            f"{ratios['per_cpu_second']:.2f}x per CPU-second (above 1: seedsieve faster)"
        )
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        rows = [{**asdict(r), "per_cpu_s": r.per_cpu_s} for r in every]
        medians = [{**asdict(r), "per_cpu_s": r.per_cpu_s} for r in runs]
        args.json.write_text(
            json.dumps({"planted": planted, "runs": rows, "medians": medians, "ratios": ratios})
        )
    return 0 if all(r.planted_found for r in every) else 1


if __name__ == "__main__":
    raise SystemExit(main())
