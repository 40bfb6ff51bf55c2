"""Start-up cost, before and after, side by side in one run: what a process pays before it scans.

Rows: ``seedsieve crack`` over 1,000 seeds for one generator of each family (the draws come from
seed 500, so each run finds one survivor), and a Dagster seed-block run
(``dagster asset materialize --select survivors --partition "bench|0"`` over a 2^12-seed block of
a case added first with ``seedsieve case add bench``; ``--partition 0`` on a checkout from before
cases, the code location's default executor) whose fixed overhead is its wall time less the
block's scan time.
Columns: the first run after install (an empty kernel cache, a fresh checkout) and the median of
later runs. "before" is another commit (``--before``, default the one before kernel caching),
checked out into a temporary worktree and run with the same Python; "after" is this checkout,
with a temporary ``SEEDSIEVE_KERNEL_CACHE``. A floor row times what no change here can remove:
starting Python, importing numba and loading one cached kernel.

    python bench/startup_bench.py                    # every family, 3 later runs
    python bench/startup_bench.py --repeats 5 --json bench/startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpu_executors.prng.draws import generate_draws, parse_draw  # noqa: E402
from gpu_executors.prng.generators import get_generator  # noqa: E402

BEFORE = "792ab30"  # main before kernels were cached
FAMILIES = {
    "lcg": "java_lcg",
    "xorshift": "xorshift32",
    "pcg": "pcg32",
    "mt19937": "mt19937",
    "glibc": "glibc_rand",
    "xoshiro": "xoshiro256pp",
    "sfc": "sfc64",
    "philox": "philox4x32",
}
DRAW = "mod:1000"
CASE = "bench"  # the case the seed-block run scans, on a checkout whose assets have cases
# Python, numba and one kernel loaded from the cache (numba's first load initialises its
# compiler): what every scanning process pays whatever it scans.
FLOOR = "from gpu_executors.prng.generators import GENERATORS\nGENERATORS['mt19937'].seeded(1)"


@dataclass
class Row:
    case: str
    before_first_s: float
    before_later_s: float
    after_first_s: float
    after_later_s: float


@dataclass(frozen=True)
class Checkout:
    """A source tree to time, and the environment its processes get."""

    name: str
    path: Path
    env: dict[str, str]

    def run(self, args: list[str], cwd: Path | None = None) -> float:
        t0 = time.perf_counter()
        proc = subprocess.run(
            args, cwd=cwd or self.path, env=self.env, capture_output=True, text=True, timeout=900
        )
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
        return seconds


def _env(path: Path, cache: Path | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(path)
    env["DAGSTER_HOME"] = str(home)
    env["SEEDSIEVE_BACKEND"] = "cpu"
    if cache is not None:
        env["SEEDSIEVE_KERNEL_CACHE"] = str(cache)
    return env


def crack_args(generator: str) -> list[str]:
    gen = get_generator(generator)
    draws = generate_draws(gen, parse_draw(DRAW), 500, 6)
    return [
        sys.executable, "-m", "prng_assets.cli", "crack", "--generator", generator,
        "--draw", DRAW, "--seeds", "0:1000", *map(str, draws.tolist()),
    ]  # fmt: skip


def time_crack(checkout: Checkout, generator: str, repeats: int) -> tuple[float, float]:
    args = crack_args(generator)
    first = checkout.run(args)
    later = statistics.median(checkout.run(args) for _ in range(repeats))
    return first, later


def has_cases(path: Path) -> bool:
    """Whether the checkout partitions its assets by case (from commit dadbce2 on): a case is
    added before it is materialised, the scan's keys are ``CASE|BLOCK`` and artefacts live under
    ``cases/CASE``."""
    partitions = path / "prng_assets" / "partitions.py"
    return partitions.exists() and "case_blocks" in partitions.read_text()


def time_block_run(checkout: Checkout, work: Path, repeats: int) -> tuple[float, float]:
    """(first, median later) fixed overhead of one seed-block run: wall less scan seconds."""
    art = work / f"artefacts-{checkout.name}"
    env = {
        **checkout.env,
        "SEEDSIEVE_ARTEFACTS": str(art),
        "SEEDSIEVE_SPACE_BITS": "16",
        "SEEDSIEVE_BLOCK_BITS": "12",
    }
    history = work / "history.json"
    head = {
        "ops": {
            "draw_history": {"config": {"path": str(history)}},
            "sieve_settings": {"config": {"search": False, "window": 8}},
        }
    }
    dagster = [sys.executable, "-m", "dagster", "asset", "materialize", "-m"]
    dagster += ["prng_assets.definitions"]
    runner = Checkout(checkout.name, checkout.path, env)
    if has_cases(checkout.path):
        runner.run([sys.executable, "-m", "prng_assets.cli", "case", "add", CASE])
        head_partition, block, blocks = ["--partition", CASE], f"{CASE}|0", art / "cases" / CASE
    else:
        head_partition, block, blocks = [], "0", art
    runner.run([*dagster, "--select", "draw_history,sieve_settings", *head_partition,
                "--config-json", json.dumps(head)])  # fmt: skip
    overheads = []
    for _ in range(repeats + 1):
        for stats in blocks.glob("survivors/*/0.json"):
            stats.unlink()
        wall = runner.run([*dagster, "--select", "survivors", "--partition", block])
        (stats,) = blocks.glob("survivors/*/0.json")
        overheads.append(wall - float(json.loads(stats.read_text()).get("seconds", 0.0)))
    return overheads[0], statistics.median(overheads[1:])


def floor_seconds(checkout: Checkout, repeats: int) -> float:
    return statistics.median(
        checkout.run([sys.executable, "-c", FLOOR]) for _ in range(repeats)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="the commit to compare with")
    parser.add_argument("--repeats", type=int, default=3, help="later runs per row (median)")
    parser.add_argument("--only", help="substring of the generator names to run")
    parser.add_argument("--no-block-run", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    before_tree = work / "before"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before_tree), args.before],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        for name in ("before", "after"):
            (work / f"home-{name}").mkdir()
            shutil.copy(ROOT / "dagster.yaml", work / f"home-{name}" / "dagster.yaml")
        before = Checkout("before", before_tree, _env(before_tree, None, work / "home-before"))
        after = Checkout("after", ROOT, _env(ROOT, work / "kernels", work / "home-after"))
        subprocess.run(
            [sys.executable, "-m", "prng_assets.cli", "synth", "--generator", "java_lcg",
             "--draw", "mod:1000", "--seed", "3000", "--n", "300", "--out",
             str(work / "history.json")],
            check=True, capture_output=True, env=after.env, cwd=ROOT,
        )  # fmt: skip
        print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}; before = {args.before}, after = this "
              f"checkout; later = median of {args.repeats}")  # fmt: skip
        rows: list[Row] = []
        for family, generator in FAMILIES.items():
            if args.only and args.only not in generator:
                continue
            b = time_crack(before, generator, args.repeats)
            a = time_crack(after, generator, args.repeats)
            rows.append(Row(f"crack {generator} ({family}) 1,000 seeds", *b, *a))
            print(f"{rows[-1].case:<40} before {b[0]:6.2f} / {b[1]:6.2f} s   "
                  f"after {a[0]:6.2f} / {a[1]:6.2f} s", flush=True)  # fmt: skip
        if not args.no_block_run:
            b = time_block_run(before, work, args.repeats)
            a = time_block_run(after, work, args.repeats)
            rows.append(Row("seed-block run, fixed overhead", *b, *a))
            print(f"{rows[-1].case:<40} before {b[0]:6.2f} / {b[1]:6.2f} s   "
                  f"after {a[0]:6.2f} / {a[1]:6.2f} s", flush=True)  # fmt: skip
        floor = floor_seconds(after, args.repeats)
        print(f"{'floor: python, numba, one cached kernel':<40} {floor:6.2f} s")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            payload = {"rows": [asdict(r) for r in rows], "floor_s": floor}
            args.json.write_text(json.dumps(payload, indent=1))
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before_tree)],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
