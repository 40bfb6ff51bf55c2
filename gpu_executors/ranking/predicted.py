"""What a candidate predicts: survivors as typed arrays and their predicted draws.

A survivor (seed or state, offset, gap) is turned into its predicted draws by the one indexing
definition the sieve uses (``predicted_draws`` equals ``draws.generate_draws`` bit for bit), so
the sieve, the features, the targets and the predictions all index outputs the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numba
import numpy as np

from gpu_executors.linear.registry import linear_only, linear_only_refusal
from gpu_executors.linear.replay import linear_draw, replay_draws
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import DrawSpec, make_drawer, make_word_value, parse_draw
from gpu_executors.prng.generators import get_generator
from gpu_executors.ranking import prediction_kernels
from gpu_executors.specialise import specialise, unbound

if TYPE_CHECKING:
    import polars as pl


# The columns a linear pool adds to ``SURVIVOR_SCHEMA`` (``gpu_executors.sieve.linear``).
LINEAR_COLUMNS = ("state", "state_model", "state_draw")


@dataclass(frozen=True, eq=False)
class Candidates:
    """Survivors of one scan as arrays: seed (or state), offset, gap per row.

    ``gaps[i] == -1`` marks a variable-gap row; its recorded gaps are ``gap_lists[i]``
    (``gap_lists`` is None when no row is variable, else one list per row, ignored for
    constant-gap rows). In state mode (``mode="state"``) ``seeds`` holds the packed state just
    before draw ``anchor`` and offsets are 0. In linear mode (``mode="linear"``, the linear
    route's recovered states) each row is ``states[i]`` (``gpu_executors.linear.replay``) of
    model ``state_models[i]`` at draw ``state_draws[i]``; seeds, offsets and gaps are 0.
    """

    generator: str
    draw: str
    seeds: np.ndarray
    offsets: np.ndarray
    gaps: np.ndarray
    gap_lists: list[list[int]] | None = None
    mode: str = "seed"
    anchor: int = 0
    states: tuple[bytes, ...] | None = None
    state_models: tuple[int, ...] | None = None
    state_draws: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        seeds = np.ascontiguousarray(self.seeds, dtype=np.uint64).reshape(-1)
        n = seeds.shape[0]
        offsets = np.ascontiguousarray(self.offsets, dtype=np.int64).reshape(-1)
        gaps = np.ascontiguousarray(self.gaps, dtype=np.int64).reshape(-1)
        if offsets.shape[0] != n or gaps.shape[0] != n:
            raise ValueError(
                f"seeds, offsets and gaps differ in length ({n}, {offsets.shape[0]}, "
                f"{gaps.shape[0]})"
            )
        if (offsets < 0).any():
            raise ValueError("offsets must be >= 0")
        if (gaps < -1).any():
            raise ValueError("gaps must be >= 0, or -1 for a variable-gap row")
        if self.mode not in ("seed", "state", "linear"):
            raise ValueError(f"mode must be 'seed', 'state' or 'linear', got {self.mode!r}")
        if self.mode == "linear":
            lists = (self.states, self.state_models, self.state_draws)
            if any(v is None or len(v) != n for v in lists):
                raise ValueError(f"linear mode needs states, state_models and state_draws for "
                                 f"each of the {n} rows")
        if self.anchor < 0:
            raise ValueError(f"anchor must be >= 0, got {self.anchor}")
        gap_lists = self.gap_lists
        if gap_lists is not None:
            if len(gap_lists) != n:
                raise ValueError(f"gap_lists has {len(gap_lists)} rows, expected {n}")
            gap_lists = [[int(g) for g in row] for row in gap_lists]
            if any(g < 0 for row in gap_lists for g in row):
                raise ValueError("recorded gaps must be >= 0")
        elif (gaps == -1).any():
            raise ValueError("variable-gap rows (gap == -1) need gap_lists")
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "gaps", gaps)
        object.__setattr__(self, "gap_lists", gap_lists)
        if self.mode == "linear":
            linear_draw(self.generator, self.draw)  # ValueError: not a linear pair
        if not linear_only(self.generator):  # V8 has no registry generator, only its model
            get_generator(self.generator)  # KeyError listing the valid names
            parse_draw(self.draw)
        elif self.mode != "linear":
            raise ValueError(linear_only_refusal(self.generator, f"mode {self.mode!r}"))

    def __len__(self) -> int:
        return int(self.seeds.shape[0])

    @property
    def gen(self) -> Generator:
        return get_generator(self.generator)

    @property
    def spec(self) -> DrawSpec:
        return parse_draw(self.draw)

    @classmethod
    def from_frame(cls, df: pl.DataFrame, mode: str = "seed", anchor: int = 0) -> Candidates:
        """Read a survivor table (``SURVIVOR_SCHEMA``); one generator and draw throughout."""
        missing = [c for c in ("seed", "generator", "draw", "offset", "gap") if c not in df.columns]
        if missing:
            raise ValueError(f"survivor frame lacks columns {missing}")
        if df.height == 0:
            raise ValueError("empty survivor frame: no generator/draw to read")
        generators = df["generator"].unique().to_list()
        draws = df["draw"].unique().to_list()
        if len(generators) != 1 or len(draws) != 1:
            raise ValueError(
                f"survivor frame mixes generators {sorted(map(str, generators))} or draws "
                f"{sorted(map(str, draws))}; split it first"
            )
        gaps = df["gap"].to_numpy().astype(np.int64)
        gap_lists = None
        if (gaps == -1).any():
            if "gaps" not in df.columns:
                raise ValueError("variable-gap rows but no 'gaps' column")
            gap_lists = [list(g) if g is not None else [] for g in df["gaps"].to_list()]
        linear: dict = {}
        if mode == "linear":
            lacking = [c for c in LINEAR_COLUMNS if c not in df.columns]
            if lacking:
                raise ValueError(f"a linear pool lacks columns {lacking}")
            linear = {"states": tuple(df["state"].to_list()),
                      "state_models": tuple(int(v) for v in df["state_model"].to_list()),
                      "state_draws": tuple(int(v) for v in df["state_draw"].to_list())}
        return cls(
            generator=str(df["generator"][0]),
            draw=str(df["draw"][0]),
            seeds=df["seed"].to_numpy().astype(np.uint64),
            offsets=df["offset"].to_numpy().astype(np.int64),
            gaps=gaps,
            gap_lists=gap_lists,
            mode=mode,
            anchor=anchor,
            **linear,
        )


def fill_gap(recorded: list[int]) -> int:
    """The gap a variable-gap row uses past its recorded gaps: the most frequent, ties smallest.

    An empty list gives 0.
    """
    if not recorded:
        return 0
    counts = np.bincount(np.asarray(recorded, dtype=np.int64))
    return int(np.argmax(counts))  # argmax returns the first (smallest) of tied maxima


def draw_is_one_word(gen: Generator, spec: DrawSpec) -> bool:
    """True when the draw function always consumes exactly one word (no rejection)."""
    kind, params = spec.kind, spec.params
    if kind == "mod":
        return True
    if kind == "nextint":
        return params[0] & (params[0] - 1) == 0
    if kind == "randint":
        return params[0] >= 2 and params[0] & (params[0] - 1) == 0
    # randrange(n) draws n.bit_length() bits and rejects r >= n: it may always take more words.
    if kind == "mt_rand":
        span = params[1] - params[0] + 1
        return gen.php_legacy_range or span & (span - 1) == 0
    return False


@cache
def _predict_kernel(generator: str, draw: str):
    """Compiled ``predict(seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat,
    gap_len, out, n_blocks)`` for one (generator, draw) pair (see ``prediction_kernels``)."""
    gen = get_generator(generator)
    spec = parse_draw(draw)
    one_word = gen.step1 is not None and gen.state_size == 1 and draw_is_one_word(gen, spec)
    module = specialise(
        prediction_kernels,
        f"{generator}-{draw}",
        nxt=gen.next,
        seed_fn=gen.seed,
        prev=gen.prev or prediction_kernels.no_prev,
        unpack=gen.unpack or prediction_kernels.no_unpack,
        step1=gen.step1 or unbound,
        value=make_word_value(gen, spec) if one_word else unbound,
        draw=make_drawer(gen, spec),
        SIZE=gen.state_size,
        ONE_WORD=one_word,
    )
    return module.predict


def predicted_draws(candidates: Candidates, n: int) -> np.ndarray:
    """Each candidate's draws 0..n-1 under the indexing definition, shape (N, n) int64.

    Seed mode: seed, skip ``offset`` words, draw 0, then ``gap`` words before each later draw.
    Variable-gap rows use their recorded gaps for the first ``len(gaps)`` gaps, then
    ``fill_gap(gaps)`` (the most frequent recorded gap, ties to the smallest) for the rest.
    State mode: the row's value is the packed state before draw ``anchor``; draw 0 is reached
    by stepping back ``(gap + 1) * anchor`` words, which is only exact for draw functions that
    consume exactly one word (others raise ValueError). Equals ``draws.generate_draws`` bit for
    bit.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if candidates.mode == "linear":
        return _linear_draws(candidates, n)
    gen, spec = candidates.gen, candidates.spec
    n_rows = len(candidates)
    seeds = candidates.seeds
    offsets = candidates.offsets
    row_gap = candidates.gaps.copy()
    rewind = np.zeros(n_rows, dtype=np.int64)
    state_mode = candidates.mode == "state"
    if state_mode:
        if gen.prev is None or gen.unpack is None:
            raise ValueError(f"{gen.name} has no packed state with an inverse step: no state mode")
        if not draw_is_one_word(gen, spec):
            raise ValueError(
                f"state mode rewinds (gap + 1) * anchor words, which needs a draw function that "
                f"consumes exactly one word; {spec.text} on {gen.name} may consume several "
                f"(rejection sampling)"
            )
        if (offsets != 0).any():
            raise ValueError("state mode candidates must have offset 0")
        if (row_gap < 0).any():
            raise ValueError("state mode candidates need a constant gap (no -1 rows)")
        width = gen.state_bits
        rewind = (row_gap + 1) * np.int64(candidates.anchor)
    else:
        width = gen.seed_bits
    if width < 64 and n_rows and int(seeds.max()) >> width:
        raise ValueError(f"{gen.name}: a {candidates.mode} value exceeds {width} bits")

    var_rows = np.flatnonzero(row_gap == -1)
    var_idx = np.full(n_rows, -1, dtype=np.int64)
    var_idx[var_rows] = np.arange(var_rows.shape[0])
    lists = [candidates.gap_lists[i] for i in var_rows] if var_rows.size else []
    width_gaps = max((len(g) for g in lists), default=0)
    gap_mat = np.zeros((len(lists), max(width_gaps, 1)), dtype=np.int64)
    gap_len = np.zeros(len(lists), dtype=np.int64)
    for k, recorded in enumerate(lists):
        gap_mat[k, : len(recorded)] = recorded
        gap_len[k] = len(recorded)
        row_gap[var_rows[k]] = fill_gap(recorded)

    out = np.empty((n_rows, n), dtype=np.int64)
    if n_rows == 0 or n == 0:
        return out
    kernel = _predict_kernel(gen.name, spec.text)
    n_blocks = min(n_rows, numba.get_num_threads() * 16)
    kernel(seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out, n_blocks)
    return out


def _linear_draws(candidates: Candidates, n: int) -> np.ndarray:
    """Linear mode: each recovered state replayed by its model and the linear draw function
    (``-1`` before the draw the state was recovered at)."""
    out = np.empty((len(candidates), n), dtype=np.int64)
    rows = zip(candidates.states, candidates.state_models, candidates.state_draws, strict=True)
    for i, (data, model, first) in enumerate(rows):
        out[i] = replay_draws(candidates.generator, candidates.draw, model, data, first, n)
    return out
