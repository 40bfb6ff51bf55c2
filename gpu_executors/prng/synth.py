"""Synthetic draw histories with a known truth, and the no-signal control.

A planted history is written in the original system's JSON format (array of
``{"date", "session", "draw"}``, oldest first, two sessions a day). Its truth (generator, draw
function, seed, offset, gaps) goes to a sidecar ``<file>.truth.json`` that the pipeline reads only
to check that the truth was recovered.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gpu_executors.io.atomic import atomic_write_json
from gpu_executors.prng.draws import generate_draws, parse_draw
from gpu_executors.prng.generators import get_generator

SESSIONS = ("midday", "evening")
START_DATE = dt.date(2020, 1, 1)


@dataclass(frozen=True)
class Truth:
    """What made a synthetic history; absent (None fields) for the random control."""

    generator: str | None
    draw: str | None
    seed: int | None
    offset: int
    gaps: list[int]
    gap_range: list[int]
    n: int
    modulus: int
    kind: str  # "planted" or "random"


def truth_path(history_path: str | os.PathLike) -> Path:
    return Path(f"{history_path}.truth.json")


def _records(values: np.ndarray) -> list[dict]:
    out = []
    for i, v in enumerate(values):
        day = START_DATE + dt.timedelta(days=i // len(SESSIONS))
        out.append(
            {"date": day.isoformat(), "session": SESSIONS[i % len(SESSIONS)], "draw": int(v)}
        )
    return out


def planted_history(
    generator: str,
    draw: str,
    seed: int,
    n: int,
    offset: int = 0,
    gap: tuple[int, int] = (0, 0),
    gap_rng_seed: int | None = None,
) -> tuple[np.ndarray, Truth]:
    """Draws from a known generator and seed; variable gaps drawn uniformly in ``gap``."""
    gen, spec = get_generator(generator), parse_draw(draw)
    gap_min, gap_max = gap
    if not 0 <= gap_min <= gap_max:
        raise ValueError(f"gap range {gap_min}:{gap_max} needs 0 <= min <= max")
    if n < 1:
        raise ValueError("n must be at least 1")
    if offset < 0:
        raise ValueError("offset must be >= 0")
    rng = np.random.default_rng(seed if gap_rng_seed is None else gap_rng_seed)
    gaps = rng.integers(gap_min, gap_max + 1, size=max(n - 1, 0))
    values = generate_draws(gen, spec, seed, n, offset=offset, gaps=gaps)
    modulus = spec.low + spec.n_values
    truth = Truth(
        generator,
        spec.text,
        seed,
        offset,
        [int(g) for g in gaps],
        [gap_min, gap_max],
        n,
        modulus,
        "planted",
    )
    return values, truth


def random_history(modulus: int, n: int) -> tuple[np.ndarray, Truth]:
    """Draws from os.urandom by rejection (exactly uniform): the no-signal control."""
    if modulus < 2 or n < 1:
        raise ValueError("need modulus >= 2 and n >= 1")
    limit = (1 << 64) - ((1 << 64) % modulus)
    out = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        words = np.frombuffer(os.urandom(8 * (n - filled) + 64), dtype=np.uint64)
        words = words[words < np.uint64(limit)] % np.uint64(modulus)
        take = min(n - filled, words.size)
        out[filled : filled + take] = words[:take]
        filled += take
    return out, Truth(None, None, None, 0, [], [0, 0], n, modulus, "random")


def write_history(path: str | os.PathLike, values: np.ndarray, truth: Truth) -> Path:
    """Write the history and its truth sidecar, each atomically."""
    path = Path(path)
    atomic_write_json(path, _records(values), sort_keys=False)
    atomic_write_json(truth_path(path), asdict(truth), sort_keys=False)
    return path


def read_truth(history_path: str | os.PathLike) -> Truth | None:
    p = truth_path(history_path)
    if not p.exists():
        return None
    return Truth(**json.loads(p.read_text(encoding="utf-8")))
