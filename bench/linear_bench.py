"""The linear route's solve times and the draws each generator needs, beside randcrack.

Each case draws from a fresh random state (or a real unseeded node process), cracks it with
``crack_linear`` ``--repeats`` times (median; the first run, which loads numba's kernels, is
excluded) and checks the predictions against the draws that followed. "draws needed" is the
smallest count after which every consistent state predicts the same next draws, found by adding
draws in steps to one system (``--skip-needed`` leaves it out). randcrack (``pip install
randcrack``) runs on its own case, 624 x getrandbits(32), if it is installed.

    python bench/linear_bench.py
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpu_executors.linear.gf2 import Echelon  # noqa: E402
from gpu_executors.linear.registry import legacy_range, linear_models  # noqa: E402
from gpu_executors.linear.reveal import parse_linear_draw  # noqa: E402
from gpu_executors.linear.solve import Rows, add_draws, crack_linear, undetermined_bits  # noqa: E402
from gpu_executors.prng.generators import GENERATORS  # noqa: E402

PREDICT = 100


@dataclass(frozen=True)
class Case:
    name: str
    generator: str
    draw: str
    n_draws: int
    target_s: float | None


CASES = [
    Case("MT19937 624 x getrandbits(32)", "python_random", "getrandbits:32", 624, 0.1),
    Case("MT19937 624 full words, + seed", "mt19937", "word", 624, 0.1),
    Case("MT19937 getrandbits(10)", "python_random", "getrandbits:10", 3000, None),
    Case("MT19937 mod:1000", "mt19937", "mod:1000", 7600, 60.0),
    Case("MT19937 randint(0, 1024) (numpy)", "mt19937", "randint:1024", 4000, None),
    Case("V8 floor(r*1000), node", "v8_math_random", "floor:1000", 40, 10.0),
    Case("xorshift128 mod:1000", "xorshift128", "mod:1000", 200, None),
]


def urandom_mt_words(n: int) -> list[int]:
    """Words of MT19937 from an os.urandom state, anywhere in its block."""
    gen = GENERATORS["mt19937"]
    state = gen.new_state()
    state[:624] = np.frombuffer(os.urandom(2496), np.uint32)
    state[624] = int.from_bytes(os.urandom(2)) % 625
    return [int(gen.next(state)) for _ in range(n)]


def draws_for(case: Case, n: int) -> list[int]:
    if case.generator == "v8_math_random":
        script = f"for (let i = 0; i < {n}; i++) console.log(Math.floor(Math.random() * 1000))"
        out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
        return [int(v) for v in out.stdout.split()]
    if case.generator == "xorshift128":
        gen = GENERATORS["xorshift128"]
        state = np.frombuffer(os.urandom(16), np.uint32).astype(np.uint64)
        return [int(gen.next(state)) % 1000 for _ in range(n)]
    words = urandom_mt_words(n)
    if case.draw == "word" or case.draw == "getrandbits:32":
        return words
    if case.draw == "getrandbits:10":
        return [w >> 22 for w in words]
    if case.draw == "randint:1024":
        return [w & 1023 for w in words]
    return [w % 1000 for w in words]


def _system(case: Case):
    model = linear_models(case.generator)[0]
    draw = parse_linear_draw(case.draw, model, legacy_range(case.generator))
    ech = Echelon(model.n_unknowns)
    fixed = model.constraints()
    if fixed is not None:
        ech.add(fixed, np.zeros(len(fixed), np.uint8))
    return model, draw, Rows(model, keep=1 << 20), ech


def _determined(model, draw, ech, done: int) -> bool:
    return ech.nullity <= 64 and undetermined_bits(model, ech, draw, done, 16) == 0


def draws_needed(case: Case, vals: list[int], step: int) -> int | None:
    """The fewest draws after which every consistent state predicts the same next words
    (one model position): a coarse scan adding ``step`` draws at a time, then bisection."""
    model, draw, rows, ech = _system(case)
    pos, done = 0, 0
    while done < len(vals) and not _determined(model, draw, ech, done):
        hi = min(done + step, len(vals))
        _, pos = add_draws(model, rows, draw, vals, ech, done, hi, pos)
        done = hi
    if not _determined(model, draw, ech, done):
        return None
    lo, hi = max(done - step, 0), done  # not determined at lo (or lo == 0), determined at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        model, draw, rows, ech = _system(case)
        add_draws(model, rows, draw, vals, ech, 0, mid, 0)
        lo, hi = (lo, mid) if _determined(model, draw, ech, mid) else (mid, hi)
    return hi


def run_case(case: Case, repeats: int, needed: bool) -> dict:
    times, ok = [], []
    need = []
    for i in range(repeats + 1):
        vals = draws_for(case, case.n_draws + PREDICT)
        t0 = time.perf_counter()
        r = crack_linear(case.generator, case.draw, vals[: case.n_draws], predict=PREDICT)
        if i:
            times.append(time.perf_counter() - t0)
            ok.append(r.solved and r.predictions == vals[case.n_draws:])
            if needed:
                step = 1 if case.n_draws <= 200 else 50
                need.append(draws_needed(case, vals[: case.n_draws], step))
    return {"case": case.name, "draws": case.n_draws, "median_s": statistics.median(times),
            "target_s": case.target_s, "all_predicted": all(ok),
            "needed": sorted(n for n in need if n is not None) if need else None}


def run_randcrack(repeats: int) -> dict | None:
    try:
        from randcrack import RandCrack
    except ImportError:
        return None
    times, ok = [], []
    for _ in range(repeats):
        words = urandom_mt_words(624 + PREDICT)
        t0 = time.perf_counter()
        rc = RandCrack()
        for w in words[:624]:
            rc.submit(w)
        preds = [rc.predict_getrandbits(32) for _ in range(PREDICT)]
        times.append(time.perf_counter() - t0)
        ok.append(preds == words[624:])
    return {"case": "randcrack 624 x getrandbits(32)", "draws": 624,
            "median_s": statistics.median(times), "target_s": None, "all_predicted": all(ok),
            "needed": [624]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="substring of the case names to run")
    parser.add_argument("--skip-needed", action="store_true")
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d')}; medians of {args.repeats} runs, fresh states")
    print("| case | draws given | median s | target | next 100 predicted | draws needed |")
    print("|---|---|---|---|---|---|")
    rows = []
    for case in CASES:
        if args.only and args.only not in case.name:
            continue
        if case.generator == "v8_math_random" and shutil.which("node") is None:
            print(f"| {case.name} | skipped: node is not installed | | | | |")
            continue
        rows.append(run_case(case, args.repeats, not args.skip_needed))
        _print(rows[-1])
    rc = run_randcrack(args.repeats)
    if rc is None:
        print("| randcrack | skipped: not installed (pip install randcrack) | | | | |")
    else:
        _print(rc)
    return 0 if all(r["all_predicted"] for r in rows) else 1


def _print(r: dict) -> None:
    target = f"< {r['target_s']:g} s" if r["target_s"] else ""
    needed = ", ".join(map(str, r["needed"])) if r["needed"] else ""
    print(f"| {r['case']} | {r['draws']:,} | {r['median_s']:.3f} | {target} | "
          f"{'yes' if r['all_predicted'] else 'NO'} | {needed} |", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
