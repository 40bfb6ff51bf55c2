"""Triton against the CPU on the same slices, per scan mode: rates, and equal survivor tables.

Prepared for a machine with a GPU (none was lent to the session that wrote it): one call runs
every case, so it fits a short device lease. Each case plants a candidate, scans a slice of
seeds (or states) around it with ``triton_scan`` and with ``cpu_scan``, fails unless both
tables are equal and hold the plant, and prints both rates. Compilation is excluded: each
kernel runs on a small warm-up slice first.

    python bench/triton_bench.py --slice 16777216            # on a GPU
    TRITON_INTERPRET=1 python bench/triton_bench.py --slice 64 --repeats 1   # smoke test, CPU
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gpu_executors.prng.draws import make_drawer, parse_draw  # noqa: E402
from gpu_executors.prng.generators import get_generator  # noqa: E402
from gpu_executors.sieve.cpu import cpu_scan  # noqa: E402
from gpu_executors.sieve.spec import ScanSpec  # noqa: E402
from gpu_executors.sieve.triton.scan import triton_scan  # noqa: E402

SEED, OFFSET, GAP, N_DRAWS, ANCHOR = 3_000_017, 2, 1, 8, 3


@dataclass(frozen=True)
class Case:
    generator: str
    draw: str
    mode: str  # "seed", "variable" or "state"


CASES = [
    Case("java_lcg", "mod:1000", "seed"),
    Case("pcg32", "randint:1000", "seed"),
    Case("xoshiro256pp", "mod:1000", "seed"),
    Case("mt19937", "mod:1000", "seed"),
    Case("pcg32", "mod:1000", "variable"),
    Case("mt19937", "mod:1000", "variable"),
    Case("xorshift32", "mod:1000", "state"),
    Case("pcg32", "mod:1000", "state"),
]


def planted(case: Case, n: int) -> tuple[ScanSpec, tuple[int, int, int]]:
    """``n`` seeds (or states) holding a planted candidate: offsets 0..3, gaps 0..2."""
    gen = get_generator(case.generator)
    drawer = make_drawer(gen, parse_draw(case.draw))
    state = gen.seeded(SEED)
    for _ in range(OFFSET):
        gen.next(state)
    gaps = (0, 2, 1, 0, 2, 1, 1) if case.mode == "variable" else (GAP,) * (N_DRAWS - 1)
    obs, anchor_state = [], 0
    for i in range(N_DRAWS):
        if i == ANCHOR:
            anchor_state = int(state[0])
        obs.append(int(drawer(state)))
        for _ in range(gaps[i] if i < N_DRAWS - 1 else 0):
            gen.next(state)
    common = {"generator": case.generator, "draw": case.draw, "draws": tuple(obs), "gap_max": 2}
    if case.mode == "state":
        top = 1 << (gen.state_bits or 64)
        lo = min(max(anchor_state - n // 2, 0), top - n)
        spec = ScanSpec(**common, seed_start=lo, seed_stop=lo + n, mode="state", anchor=ANCHOR)
        return spec, (anchor_state, 0, GAP)
    lo = max(SEED - n // 2, 0)
    spec = ScanSpec(
        **common, seed_start=lo, seed_stop=lo + n, offset_stop=4,
        variable_gap=case.mode == "variable",
    )
    return spec, (SEED, OFFSET, -1 if case.mode == "variable" else GAP)


def median_rate(scan, spec: ScanSpec, repeats: int):
    results = [scan(spec) for _ in range(repeats)]
    return results[-1], statistics.median(r.candidates_scanned / r.seconds for r in results)


def run_case(case: Case, n: int, repeats: int) -> dict:
    spec, plant = planted(case, n)
    warm, _plant = planted(case, 64)
    triton_scan(warm)
    cpu_scan(warm)
    t0 = time.perf_counter()
    gpu, gpu_rate = median_rate(triton_scan, spec, repeats)
    cpu, cpu_rate = median_rate(cpu_scan, spec, repeats)
    rows = set(gpu.survivors.select("seed", "offset", "gap").iter_rows())
    return {
        "case": f"{case.generator} {case.draw} {case.mode}",
        "candidates": spec.candidates,
        "gpu_rate": gpu_rate,
        "cpu_rate": cpu_rate,
        "speedup": gpu_rate / cpu_rate,
        "tables_equal": gpu.survivors.equals(cpu.survivors),
        "plant_found": plant in rows,
        "gpu_false_positives": gpu.extra["gpu_false_positives"],
        "gpu_backend": gpu.backend,
        "gpu_device": gpu.device.device_name,
        "cpu_backend": cpu.backend,
        "wall_s": round(time.perf_counter() - t0, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slice", type=int, default=1 << 24, help="seeds (or states) per case")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="substring of 'generator draw mode' to run")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    rows, ok = [], True
    for case in CASES:
        name = f"{case.generator} {case.draw} {case.mode}"
        if args.only and args.only not in name:
            continue
        row = run_case(case, args.slice, args.repeats)
        rows.append(row)
        good = row["tables_equal"] and row["plant_found"] and not row["gpu_false_positives"]
        ok &= good
        print(
            f"{row['case']:<32} {row['candidates']:>12,} cand  GPU {row['gpu_rate'] / 1e6:9.2f} M/s"
            f"  CPU {row['cpu_rate'] / 1e6:8.2f} M/s  x{row['speedup']:.2f}"
            f"  {'ok' if good else 'MISMATCH'}  ({row['gpu_device']})",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
