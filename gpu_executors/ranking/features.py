"""Features and targets for ranking sieve survivors: what a candidate predicts, and how well.

A survivor (seed or state, offset, gap) is turned into its predicted draws by the one indexing
definition of ``scan.py`` (``predicted_draws``). The observed history is split in two: the
*train* draws, which the features may read, and the *holdout* draws, which only the targets
read. ``feature_columns`` takes the train draws and nothing else, and ``target_columns`` the
holdout draws and nothing else, so no feature can leak the answer a ranker is scored on.

Feature names are stable across scorer configurations: residue features are named by slot
(``residue_1_*`` .. ``residue_3_*``), not by modulus, so a model trained under one
``ScorerConfig`` reads the same columns as another and a configuration search compares like with
like. ``keep_fraction`` is the share of a residue circle counted as "near": two residues are near
when their circular distance is at most ``floor(keep_fraction * m / 2)``, so under chance the near
rate is about ``keep_fraction`` whatever ``m`` is (scale-invariant).

``holdout_quality`` is deliberately independent of any ``ScorerConfig`` (its lanes come from the
modulus alone) so that a scorer search cannot move the goalposts it is judged by.

This module must not import dagster.
"""

from __future__ import annotations

import hashlib
import json
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import cache
from typing import TYPE_CHECKING

import numba
import numpy as np
from numba import prange
from scipy import stats

from gpu_executors.prng.draws import DrawSpec, make_drawer, make_word_value, parse_draw
from gpu_executors.prng.generators import Generator, get_generator

if TYPE_CHECKING:
    import polars as pl

U64 = np.uint64
N_SLOTS = 3
N_LAGS = 10
MIN_BATTERY_DRAWS = 8
EVIDENCE_CAP = 320.0
LUT_MAX = 1 << 16  # moduli up to this get residue/digit lookup tables
FFT_CHUNK_ROWS = 8192  # rows per FFT chunk at most; also at most 2^21 values

# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ScorerConfig:
    """The knobs of the feature set (not of the targets)."""

    residue_mods: tuple[int, int, int] = (8, 125, 1000)
    keep_fraction: float = 0.1
    temporal_window: int = 100
    temporal_windows: int = 5
    min_confidence: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "residue_mods", tuple(self.residue_mods))

    def validate(self) -> None:
        """Raise ValueError naming the rule broken."""
        mods = self.residue_mods
        if len(mods) != N_SLOTS:
            raise ValueError(f"residue_mods needs exactly {N_SLOTS} moduli, got {len(mods)}")
        for m in mods:
            if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 2:
                raise ValueError(f"residue_mods must be integers >= 2, got {m!r}")
        if not 0.0 < self.keep_fraction < 1.0:
            raise ValueError(f"keep_fraction must be in (0, 1), got {self.keep_fraction}")
        if self.temporal_window < 2:
            raise ValueError(f"temporal_window must be >= 2, got {self.temporal_window}")
        if self.temporal_windows < 1:
            raise ValueError(f"temporal_windows must be >= 1, got {self.temporal_windows}")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1], got {self.min_confidence}")

    def to_dict(self) -> dict:
        return {
            "residue_mods": [int(m) for m in self.residue_mods],
            "keep_fraction": float(self.keep_fraction),
            "temporal_window": int(self.temporal_window),
            "temporal_windows": int(self.temporal_windows),
            "min_confidence": float(self.min_confidence),
        }

    def digest(self) -> str:
        """First 16 hex digits of the sha256 of the sorted JSON of ``to_dict()``."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, d: dict) -> ScorerConfig:
        """Inverse of ``to_dict``; an unknown key is a ValueError, missing keys take defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown ScorerConfig keys {unknown}; valid: {sorted(known)}")
        kw = dict(d)
        if "residue_mods" in kw:
            kw["residue_mods"] = tuple(int(m) for m in kw["residue_mods"])
        config = cls(**kw)
        config.validate()
        return config


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True, eq=False)
class Candidates:
    """Survivors of one scan as arrays: seed (or state), offset, gap per row.

    ``gaps[i] == -1`` marks a variable-gap row; its recorded gaps are ``gap_lists[i]``
    (``gap_lists`` is None when no row is variable, else one list per row, ignored for
    constant-gap rows). In state mode (``mode="state"``) ``seeds`` holds the packed state just
    before draw ``anchor`` and offsets are 0.
    """

    generator: str
    draw: str
    seeds: np.ndarray
    offsets: np.ndarray
    gaps: np.ndarray
    gap_lists: list[list[int]] | None = None
    mode: str = "seed"
    anchor: int = 0

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
        if self.mode not in ("seed", "state"):
            raise ValueError(f"mode must be 'seed' or 'state', got {self.mode!r}")
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
        get_generator(self.generator)  # KeyError listing the valid names
        parse_draw(self.draw)

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
        """Read a survivor table (``scan.SURVIVOR_SCHEMA``); one generator and draw throughout."""
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
        return cls(
            generator=str(df["generator"][0]),
            draw=str(df["draw"][0]),
            seeds=df["seed"].to_numpy().astype(np.uint64),
            offsets=df["offset"].to_numpy().astype(np.int64),
            gaps=gaps,
            gap_lists=gap_lists,
            mode=mode,
            anchor=anchor,
        )


# --------------------------------------------------------------------------- predicted draws


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
    gap_len, out, n_blocks)`` for one (generator, draw) pair, built once."""
    gen = get_generator(generator)
    spec = parse_draw(draw)
    drawf = make_drawer(gen, spec)
    nxt, seed_fn, size = gen.next, gen.seed, gen.state_size

    if gen.prev is not None and gen.unpack is not None:
        prev, unpack = gen.prev, gen.unpack

        @numba.njit(nogil=True, inline="always")
        def start(word, rewind, state_mode, st):
            if state_mode:
                unpack(word, st)
                for _ in range(rewind):
                    prev(st)
            else:
                seed_fn(word, st)

    else:

        @numba.njit(nogil=True, inline="always")
        def start(word, rewind, state_mode, st):
            seed_fn(word, st)

    if gen.step1 is not None and size == 1 and draw_is_one_word(gen, spec):
        # Fast path: a one-word state kept in a register, one word per draw.
        step1 = gen.step1
        value = make_word_value(gen, spec)

        @numba.njit(nogil=True)
        def rows(
            lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
        ):
            n = out.shape[1]
            st = np.empty(1, dtype=np.uint64)
            for i in range(lo, hi):
                start(seeds[i], rewind[i], state_mode, st)
                s = st[0]
                for _ in range(offsets[i]):
                    s, _w = step1(s)
                vi = var_idx[i]
                gap = row_gap[i]
                for j in range(n):
                    if j > 0:
                        g = gap
                        if vi >= 0 and j - 1 < gap_len[vi]:
                            g = gap_mat[vi, j - 1]
                        for _ in range(g):
                            s, _w = step1(s)
                    s, w = step1(s)
                    out[i, j] = value(w)[0]

    else:

        @numba.njit(nogil=True)
        def rows(
            lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
        ):
            n = out.shape[1]
            st = np.empty(size, dtype=np.uint64)
            for i in range(lo, hi):
                start(seeds[i], rewind[i], state_mode, st)
                for _ in range(offsets[i]):
                    nxt(st)
                vi = var_idx[i]
                gap = row_gap[i]
                for j in range(n):
                    if j > 0:
                        g = gap
                        if vi >= 0 and j - 1 < gap_len[vi]:
                            g = gap_mat[vi, j - 1]
                        for _ in range(g):
                            nxt(st)
                    out[i, j] = drawf(st)

    @numba.njit(parallel=True, nogil=True)
    def predict(
        seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out, n_blocks
    ):
        n_rows = out.shape[0]
        for b in prange(n_blocks):
            lo = (n_rows * b) // n_blocks
            hi = (n_rows * (b + 1)) // n_blocks
            rows(
                lo, hi, seeds, rewind, state_mode, offsets, row_gap, var_idx, gap_mat, gap_len, out
            )

    return predict


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


# --------------------------------------------------------------------------- feature schema


def _residue_schema() -> dict[str, str]:
    out = {}
    for k in range(1, N_SLOTS + 1):
        m = f"m{k} = residue_mods[{k - 1}]"
        out[f"residue_{k}_match_rate"] = (
            f"share of train draws with (pred-low)%m == (train-low)%m; {m}"
        )
        out[f"residue_{k}_near_rate"] = (
            f"share with circular residue distance <= floor(keep_fraction*m/2); {m}"
        )
        out[f"residue_{k}_kl"] = f"KL(hist_m(pred) || hist_m(train)), probabilities >= 1e-10; {m}"
        out[f"residue_{k}_coherence"] = f"1 / (1 + residue_{k}_kl)"
    return out


FEATURE_SCHEMA: dict[str, str] = {
    "train_match_rate": "share of train draws predicted exactly",
    "outside_window_match_rate": "exact-match share of train draws after the first `window` "
    "(those the sieve did not require); 0 when there are none",
    "outside_window_evidence": "-log10 binomial P(>= k matches | n, 1/modulus) outside the "
    "window, capped at 320",
    **_residue_schema(),
    "lane_agreement": "mean of the three residue match rates",
    "lane_consistency": "population std of the three residue match rates",
    "ones_digit_agreement": "share of train draws whose (value-low) ones digits agree",
    "tens_digit_agreement": "share whose (value-low) tens digits agree",
    "hundreds_digit_agreement": "share whose (value-low) hundreds digits agree",
    "digit_agreement_sum": "sum of the three digit agreements",
    "temporal_mean": "mean exact-match rate over the temporal windows",
    "temporal_std": "population std of the per-window exact-match rates",
    "temporal_min": "lowest per-window exact-match rate",
    "temporal_max": "highest per-window exact-match rate",
    "temporal_trend": "OLS slope of the per-window match rate over window index (0: one window)",
    "temporal_confident_share": "share of windows whose residue_1 match rate >= min_confidence",
    "pred_mean": "mean of (pred-low) / modulus",
    "pred_std": "population std of pred / modulus",
    "pred_min": "min of (pred-low) / modulus",
    "pred_max": "max of (pred-low) / modulus",
    "residual_mean": "mean of (pred-train) / modulus",
    "residual_std": "population std of (pred-train) / modulus",
    "residual_abs_mean": "mean of |pred-train| / modulus",
    "residual_max_abs": "max of |pred-train| / modulus",
    "fft_peak": "largest |rfft| of the centered prediction, DC excluded, / (sqrt(n) * modulus)",
    "fft_secondary_peak": "second largest such |rfft| / (sqrt(n) * modulus)",
    "fft_spectral_concentration": "fft peak / sum of |rfft| without DC",
    "fft_diff_peak": "largest |rfft| of diff(pred), DC excluded, / (sqrt(n-1) * modulus)",
    "fft_diff_concentration": "diff peak / sum of |rfft(diff)| without DC",
    **{
        f"autocorr_lag_{k:02d}": f"sample autocorrelation of the centered prediction at lag {k}"
        for k in range(1, N_LAGS + 1)
    },
    "autocorr_decay": "OLS slope of |autocorrelation| over lags 1..10",
    "autocorr_significant_lags": "count of lags 1..10 with |autocorrelation| > 2/sqrt(n)",
    "cusum_max_excursion": "max |cumsum(pred - mean)| / (modulus * sqrt(n))",
    "cusum_mean_excursion": "mean |cumsum(pred - mean)| / (modulus * sqrt(n))",
    "cusum_zero_crossings": "count of sign changes of cumsum(pred - mean) (zeros skipped)",
    "popcount_mean": "mean popcount of (pred-low) / bit length of (modulus-1)",
    "popcount_std": "population std of popcount(pred-low) / bit length of (modulus-1)",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_SCHEMA)
_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
# Column positions the compiled kernel writes (numba reads these globals as constants).
C_MATCH = _COL["train_match_rate"]
C_OUTSIDE = _COL["outside_window_match_rate"]
C_EVIDENCE = _COL["outside_window_evidence"]
C_RESIDUE = _COL["residue_1_match_rate"]  # 4 columns per slot, slots contiguous
C_LANE = _COL["lane_agreement"]
C_DIGITS = _COL["ones_digit_agreement"]
C_TEMPORAL = _COL["temporal_mean"]
C_DIST = _COL["pred_mean"]
C_FFT = _COL["fft_peak"]
C_AUTOCORR = _COL["autocorr_lag_01"]
C_CUSUM = _COL["cusum_max_excursion"]
C_POPCOUNT = _COL["popcount_mean"]
# The battery: columns that ignore the scorer configuration (``feature_columns(spectral=False)``
# leaves them at 0 so that a caller trying many configurations computes them once).
BATTERY_COLUMNS: tuple[str, ...] = (
    *FEATURE_NAMES[C_FFT : C_FFT + 5], *FEATURE_NAMES[C_AUTOCORR : C_AUTOCORR + 12],
    *FEATURE_NAMES[C_CUSUM : C_CUSUM + 3], *FEATURE_NAMES[C_POPCOUNT : C_POPCOUNT + 2])
N_FEATURES = len(FEATURE_NAMES)

TARGET_SCHEMA: dict[str, str] = {
    "holdout_hits": "share of holdout draws predicted exactly (chance: about 1/modulus)",
    "holdout_quality": "0.5*hits + 0.25*mean lane match + 0.25*mean closeness, fixed "
    "(no lanes: 0.5*hits + 0.5*mean closeness); see target_columns",
}


# --------------------------------------------------------------------------- feature kernels


@numba.njit(nogil=True, inline="always")
def _popcount(x):
    v = U64(x)
    v = v - ((v >> U64(1)) & U64(0x5555555555555555))
    v = (v & U64(0x3333333333333333)) + ((v >> U64(2)) & U64(0x3333333333333333))
    v = (v + (v >> U64(4))) & U64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * U64(0x0101010101010101)) >> U64(56))


@numba.njit(nogil=True, cache=True)
def _feature_rows(
    lo,
    hi,
    pred,
    train,
    n,
    low,
    modulus,
    window,
    mods,
    near,
    tr,
    td,
    logq,
    ptab,
    logptab,
    lut,
    win_lo,
    win_hi,
    min_conf,
    pop_bits,
    battery,
    out,
):
    """Rows lo..hi: every feature except the FFT ones and the evidence.

    ``out[C_EVIDENCE]`` receives the raw outside-window match count (turned into evidence by the
    caller). ``tr``/``td`` are the train residues per slot and train digits, ``logq`` the train
    residue log-probabilities, ``ptab``/``logptab`` clamped probabilities of a count c over n,
    ``lut[k, a]`` the slot residues (k < 3) and digits (k >= 3) of a = value - low for
    a < lut.shape[1] (divisions are the kernel's main cost otherwise).
    """
    w0 = min(window, n)
    n_out = n - w0
    n_win = win_lo.shape[0]
    max_m = logq.shape[1]
    fmod = float(modulus)
    sqrt_n = math.sqrt(n)
    n_lut = lut.shape[1]
    hist = np.zeros((N_SLOTS, max_m), dtype=np.int64)
    cum_e = np.zeros(n + 1, dtype=np.int64)
    cum_r = np.zeros(n + 1, dtype=np.int64)
    xs = np.empty(n, dtype=np.float64)
    rates = np.zeros(N_SLOTS, dtype=np.float64)
    r_match = np.zeros(N_SLOTS, dtype=np.int64)
    r_near = np.zeros(N_SLOTS, dtype=np.int64)
    wr = np.empty(max(n_win, 1), dtype=np.float64)
    ac = np.zeros(N_LAGS, dtype=np.float64)
    for i in range(lo, hi):
        exact = 0
        outside = 0
        d1 = 0
        d2 = 0
        d3 = 0
        psum = 0
        pmin = pred[i, 0]
        pmax = pred[i, 0]
        rsum = 0
        rabs = 0
        rmax = 0
        pcs = 0
        for k in range(N_SLOTS):
            r_match[k] = 0
            r_near[k] = 0
        for j in range(n):
            p = pred[i, j]
            t = train[j]
            a = p - low
            if p == t:
                exact += 1
                if j >= w0:
                    outside += 1
            cum_e[j + 1] = exact
            in_lut = 0 <= a < n_lut
            for k in range(N_SLOTS):
                m = mods[k]
                ra = lut[k, a] if in_lut else a % m
                rb = tr[k, j]
                hist[k, ra] += 1
                d = ra - rb if ra >= rb else rb - ra
                if m - d < d:
                    d = m - d
                if d == 0:
                    r_match[k] += 1
                if d <= near[k]:
                    r_near[k] += 1
            cum_r[j + 1] = r_match[0]
            if in_lut:
                g1, g2, g3 = lut[3, a], lut[4, a], lut[5, a]
            else:
                g1, g2, g3 = a % 10, (a // 10) % 10, (a // 100) % 10
            if g1 == td[0, j]:
                d1 += 1
            if g2 == td[1, j]:
                d2 += 1
            if g3 == td[2, j]:
                d3 += 1
            psum += a
            pmin = min(pmin, p)
            pmax = max(pmax, p)
            res = p - t
            rsum += res
            rabs += abs(res)
            rmax = max(rmax, abs(res))
            pcs += _popcount(a)

        out[C_MATCH, i] = exact / n
        out[C_OUTSIDE, i] = outside / n_out if n_out > 0 else 0.0
        out[C_EVIDENCE, i] = outside
        for k in range(N_SLOTS):
            m = mods[k]
            kl = 0.0
            for bb in range(m):
                c = hist[k, bb]
                kl += ptab[c] * (logptab[c] - logq[k, bb])
                hist[k, bb] = 0
            rates[k] = r_match[k] / n
            col = C_RESIDUE + 4 * k
            out[col, i] = rates[k]
            out[col + 1, i] = r_near[k] / n
            out[col + 2, i] = kl
            out[col + 3, i] = 1.0 / (1.0 + kl)
        lane = (rates[0] + rates[1] + rates[2]) / 3.0
        lvar = 0.0
        for k in range(N_SLOTS):
            lvar += (rates[k] - lane) ** 2
        out[C_LANE, i] = lane
        out[C_LANE + 1, i] = math.sqrt(lvar / 3.0)
        out[C_DIGITS, i] = d1 / n
        out[C_DIGITS + 1, i] = d2 / n
        out[C_DIGITS + 2, i] = d3 / n
        out[C_DIGITS + 3, i] = (d1 + d2 + d3) / n

        # temporal windows (exact-match rate per window; residue_1 for confidence)
        tsum = 0.0
        tmin = np.inf
        tmax = -np.inf
        conf = 0
        for w in range(n_win):
            length = win_hi[w] - win_lo[w]
            r = (cum_e[win_hi[w]] - cum_e[win_lo[w]]) / length
            wr[w] = r
            tsum += r
            tmin = min(tmin, r)
            tmax = max(tmax, r)
            if (cum_r[win_hi[w]] - cum_r[win_lo[w]]) / length >= min_conf:
                conf += 1
        tmean = tsum / n_win
        tvar = 0.0
        sxy = 0.0
        sxx = 0.0
        xbar = (n_win - 1) / 2.0
        for w in range(n_win):
            tvar += (wr[w] - tmean) ** 2
            sxy += (w - xbar) * (wr[w] - tmean)
            sxx += (w - xbar) ** 2
        out[C_TEMPORAL, i] = tmean
        out[C_TEMPORAL + 1, i] = math.sqrt(tvar / n_win)
        out[C_TEMPORAL + 2, i] = tmin
        out[C_TEMPORAL + 3, i] = tmax
        out[C_TEMPORAL + 4, i] = sxy / sxx if sxx > 0 else 0.0
        out[C_TEMPORAL + 5, i] = conf / n_win

        # distribution, residuals, popcount, cusum (second pass, centered)
        mean = psum / n  # of (pred - low)
        rmean = rsum / n
        pcmean = pcs / n
        vx = 0.0
        vr = 0.0
        vp = 0.0
        csum = 0
        smax = 0
        sabs = 0.0
        crossings = 0
        last = 0
        for j in range(n):
            a = pred[i, j] - low
            x = a - mean
            xs[j] = x
            vx += x * x
            dr = (pred[i, j] - train[j]) - rmean
            vr += dr * dr
            dp = _popcount(a) - pcmean
            vp += dp * dp
            csum += a
            s = n * csum - (j + 1) * psum  # n * (cusum of the centered values), exact
            sa = abs(s)
            smax = max(smax, sa)
            sabs += sa
            sign = 1 if s > 0 else (-1 if s < 0 else 0)
            if sign != 0:
                if last != 0 and sign != last:
                    crossings += 1
                last = sign
        out[C_DIST, i] = mean / fmod
        out[C_DIST + 1, i] = math.sqrt(vx / n) / fmod
        out[C_DIST + 2, i] = (pmin - low) / fmod
        out[C_DIST + 3, i] = (pmax - low) / fmod
        out[C_DIST + 4, i] = rmean / fmod
        out[C_DIST + 5, i] = math.sqrt(vr / n) / fmod
        out[C_DIST + 6, i] = rabs / n / fmod
        out[C_DIST + 7, i] = rmax / fmod
        out[C_POPCOUNT, i] = pcmean / pop_bits
        out[C_POPCOUNT + 1, i] = math.sqrt(vp / n) / pop_bits

        if not battery:
            for c in range(C_AUTOCORR, C_AUTOCORR + N_LAGS + 2):
                out[c, i] = 0.0
            for c in range(C_CUSUM, C_CUSUM + 3):
                out[c, i] = 0.0
            out[C_POPCOUNT, i] = 0.0
            out[C_POPCOUNT + 1, i] = 0.0
            continue
        scale = n * fmod * sqrt_n
        out[C_CUSUM, i] = smax / scale
        out[C_CUSUM + 1, i] = sabs / n / scale
        out[C_CUSUM + 2, i] = crossings
        # autocorrelation, lags 1..10 accumulated together (one sweep over the row)
        # lags 1..10 in independent accumulators, each summed over t in order
        a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = 0.0
        body = max(n - N_LAGS, 0)
        for t in range(body):
            xt = xs[t]
            a1 += xt * xs[t + 1]
            a2 += xt * xs[t + 2]
            a3 += xt * xs[t + 3]
            a4 += xt * xs[t + 4]
            a5 += xt * xs[t + 5]
            a6 += xt * xs[t + 6]
            a7 += xt * xs[t + 7]
            a8 += xt * xs[t + 8]
            a9 += xt * xs[t + 9]
            a10 += xt * xs[t + 10]
        ac[0], ac[1], ac[2], ac[3], ac[4] = a1, a2, a3, a4, a5
        ac[5], ac[6], ac[7], ac[8], ac[9] = a6, a7, a8, a9, a10
        for t in range(body, n):
            xt = xs[t]
            for k in range(min(N_LAGS, n - 1 - t)):
                ac[k] += xt * xs[t + k + 1]
        significant = 0
        slope = 0.0
        for k in range(N_LAGS):
            v = ac[k] / vx if vx > 0 else 0.0
            out[C_AUTOCORR + k, i] = v
            slope += (k + 1 - 5.5) * abs(v)
            if abs(v) > 2.0 / sqrt_n:
                significant += 1
        out[C_AUTOCORR + N_LAGS, i] = slope / 82.5  # sum (k - 5.5)^2 over k = 1..10
        out[C_AUTOCORR + N_LAGS + 1, i] = significant


@numba.njit(parallel=True, nogil=True, cache=True)
def _feature_kernel(
    pred,
    train,
    n,
    low,
    modulus,
    window,
    mods,
    near,
    tr,
    td,
    logq,
    ptab,
    logptab,
    lut,
    win_lo,
    win_hi,
    min_conf,
    pop_bits,
    battery,
    out,
    n_blocks,
):
    """Rows in ``n_blocks`` blocks over the threads (the row work lives in ``_feature_rows``,
    which keeps the parallel pass's compile time small)."""
    n_rows = pred.shape[0]
    for b in prange(n_blocks):
        _feature_rows(
            (n_rows * b) // n_blocks,
            (n_rows * (b + 1)) // n_blocks,
            pred,
            train,
            n,
            low,
            modulus,
            window,
            mods,
            near,
            tr,
            td,
            logq,
            ptab,
            logptab,
            lut,
            win_lo,
            win_hi,
            min_conf,
            pop_bits,
            battery,
            out,
        )


@numba.njit(nogil=True, cache=True)
def _fft_prep(pred, n, lo, hi, xbuf, dbuf):
    """Rows lo..hi of pred[:, :n] into xbuf (centered, float) and dbuf (first differences)."""
    for r in range(hi - lo):
        i = lo + r
        total = 0
        for j in range(n):
            total += pred[i, j]
        mean = total / n
        for j in range(n):
            xbuf[r, j] = pred[i, j] - mean
        for j in range(n - 1):
            dbuf[r, j] = pred[i, j + 1] - pred[i, j]


@numba.njit(nogil=True, cache=True)
def _spectrum_columns(spec, row0, norm, out, c_peak, c_second, c_conc):
    """From each row of a complex rfft (DC excluded): peak / norm, second peak / norm (when
    c_second >= 0) and peak / sum of magnitudes, into out[c, row0 + r]."""
    for r in range(spec.shape[0]):
        p1 = 0.0
        p2 = 0.0
        s = 0.0
        for k in range(1, spec.shape[1]):
            z = spec[r, k]
            mag = math.sqrt(z.real * z.real + z.imag * z.imag)
            s += mag
            if mag > p1:
                p2 = p1
                p1 = mag
            elif mag > p2:
                p2 = mag
        out[c_peak, row0 + r] = p1 / norm
        if c_second >= 0:
            out[c_second, row0 + r] = p2 / norm
        out[c_conc, row0 + r] = p1 / s if s > 0 else 0.0


def _fft_columns(pred: np.ndarray, n: int, modulus: int, out: np.ndarray) -> None:
    """Fill the five FFT columns of ``out`` from ``pred[:, :n]``.

    One thread per numba thread, each over its own block of rows, a chunk at a time into
    buffers it reuses: compiled prep, numpy's ``rfft(out=...)``, compiled peak statistics (all
    three release the GIL). Memory stays bounded at a few chunks whatever the row count.
    """
    n_rows = pred.shape[0]
    workers = max(1, min(numba.get_num_threads(), n_rows))
    chunk = max(16, min(FFT_CHUNK_ROWS, (1 << 21) // n))
    norm_x = math.sqrt(n) * modulus
    norm_d = math.sqrt(n - 1) * modulus

    def block(w: int) -> None:
        lo_w, hi_w = n_rows * w // workers, n_rows * (w + 1) // workers
        size = min(chunk, hi_w - lo_w)
        xbuf = np.empty((size, n))
        dbuf = np.empty((size, n - 1))
        xspec = np.empty((size, n // 2 + 1), dtype=np.complex128)
        dspec = np.empty((size, (n - 1) // 2 + 1), dtype=np.complex128)
        for lo in range(lo_w, hi_w, size):
            rows = min(size, hi_w - lo)
            _fft_prep(pred, n, lo, lo + rows, xbuf, dbuf)
            np.fft.rfft(xbuf[:rows], axis=1, out=xspec[:rows])
            np.fft.rfft(dbuf[:rows], axis=1, out=dspec[:rows])
            _spectrum_columns(xspec[:rows], lo, norm_x, out, C_FFT, C_FFT + 1, C_FFT + 2)
            _spectrum_columns(dspec[:rows], lo, norm_d, out, C_FFT + 3, -1, C_FFT + 4)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(block, range(workers)))


def temporal_windows(n_train: int, config: ScorerConfig) -> list[tuple[int, int]]:
    """The (start, stop) train-draw windows of the temporal features.

    ``temporal_windows`` windows of ``temporal_window`` draws with stride
    ``max(1, (n_train - T) // K)``, windows shorter than T/2 skipped; one window of all draws
    when ``n_train < T``.
    """
    t, k = config.temporal_window, config.temporal_windows
    if n_train < t:
        return [(0, n_train)]
    stride = max(1, (n_train - t) // k)
    out = []
    for w in range(k):
        s = w * stride
        e = min(s + t, n_train)
        if e - s >= t / 2:
            out.append((s, e))
    return out or [(0, n_train)]


def outside_evidence(matches: np.ndarray, n_out: int, modulus: int) -> np.ndarray:
    """-log10 binom.sf(k - 1, n_out, 1/modulus) per match count k, capped at 320 (0 if n_out=0)."""
    k = np.asarray(matches, dtype=np.int64)
    if n_out <= 0:
        return np.zeros(k.shape, dtype=np.float64)
    ks = np.arange(n_out + 1)
    sf = stats.binom.sf(ks - 1, n_out, 1.0 / modulus)
    with np.errstate(divide="ignore"):
        table = np.where(sf > 0, -np.log10(np.maximum(sf, 1e-323)), EVIDENCE_CAP)
    table = np.clip(table, 0.0, EVIDENCE_CAP) + 0.0  # + 0.0 turns -0.0 into 0.0
    return table[np.clip(k, 0, n_out)]


def feature_columns(
    pred: np.ndarray,
    train: np.ndarray,
    low: int,
    modulus: int,
    window: int,
    config: ScorerConfig,
    spectral: bool = True,
) -> dict[str, np.ndarray]:
    """Every ``FEATURE_SCHEMA`` column (float64, length N) from the train draws only.

    ``spectral=False`` leaves the ``BATTERY_COLUMNS`` at 0: they do not depend on the scorer
    configuration, so a caller trying many configurations computes them once.

    ``pred`` holds each candidate's predicted train draws; only its first ``len(train)``
    columns are read. ``low``/``modulus`` are the draw function's smallest value and number of
    values; ``window`` is how many leading draws the sieve matched. With fewer than 8 train
    draws the battery columns (fft, autocorr, cusum, popcount) are 0.
    """
    config.validate()
    train = np.ascontiguousarray(train, dtype=np.int64).reshape(-1)
    n = train.shape[0]
    pred = np.asarray(pred)
    if pred.ndim != 2:
        raise ValueError(f"pred must be 2-D (candidates x draws), got shape {pred.shape}")
    if n == 0:
        raise ValueError("no train draws")
    if pred.shape[1] < n:
        raise ValueError(f"pred has {pred.shape[1]} draws per row, train has {n}")
    if modulus < 1:
        raise ValueError(f"modulus must be >= 1, got {modulus}")
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    if pred.dtype != np.int64 or not pred.flags.c_contiguous:
        pred = np.ascontiguousarray(pred, dtype=np.int64)
    n_rows = pred.shape[0]
    mods = np.asarray(config.residue_mods, dtype=np.int64)
    near = np.floor(config.keep_fraction * mods / 2.0).astype(np.int64)
    a_train = train - low
    tr = np.stack([a_train % m for m in mods]).astype(np.int64)
    td = np.stack([a_train % 10, (a_train // 10) % 10, (a_train // 100) % 10]).astype(np.int64)
    max_m = int(mods.max())
    logq = np.zeros((N_SLOTS, max_m))
    for k, m in enumerate(mods):
        q = np.maximum(np.bincount(tr[k], minlength=m) / n, 1e-10)
        logq[k, :m] = np.log(q)
    ptab = np.maximum(np.arange(n + 1) / n, 1e-10)
    logptab = np.log(ptab)
    n_lut = modulus if modulus <= LUT_MAX else 0
    av = np.arange(n_lut, dtype=np.int64)
    lut = np.stack([*(av % m for m in mods), av % 10, (av // 10) % 10, (av // 100) % 10])
    wins = np.asarray(temporal_windows(n, config), dtype=np.int64)
    pop_bits = float(max(1, (modulus - 1).bit_length()))
    battery = n >= MIN_BATTERY_DRAWS and spectral

    out = np.zeros((N_FEATURES, n_rows), dtype=np.float64)
    if n_rows:
        n_blocks = min(n_rows, numba.get_num_threads() * 16)
        _feature_kernel(
            pred,
            train,
            n,
            np.int64(low),
            np.int64(modulus),
            np.int64(window),
            mods,
            near,
            tr,
            td,
            logq,
            ptab,
            logptab,
            np.ascontiguousarray(lut, dtype=np.int64),
            np.ascontiguousarray(wins[:, 0]),
            np.ascontiguousarray(wins[:, 1]),
            float(config.min_confidence),
            pop_bits,
            battery,
            out,
            n_blocks,
        )
        if battery:
            _fft_columns(pred, n, modulus, out)
    out[C_EVIDENCE] = outside_evidence(out[C_EVIDENCE], n - min(window, n), modulus)
    return {name: out[i] for i, name in enumerate(FEATURE_NAMES)}


# --------------------------------------------------------------------------- targets


def quality_lanes(modulus: int) -> list[int]:
    """Prime-power factors of ``modulus`` when it has >= 2 distinct primes (1000 -> [8, 125])."""
    lanes, m, p = [], int(modulus), 2
    while p * p <= m:
        if m % p == 0:
            q = 1
            while m % p == 0:
                m //= p
                q *= p
            lanes.append(q)
        p += 1
    if m > 1:
        lanes.append(m)
    return lanes if len(lanes) >= 2 else []


def target_chance(modulus: int) -> dict[str, float]:
    """Expected target values of a candidate whose predictions are independent of the truth.

    Draws uniform on ``modulus`` values: hits 1/M; a lane L matches with probability 1/L; the
    mean closeness is 1/2 for even M and 1/2 + 1/(2 M^2) for odd M.
    """
    m = int(modulus)
    hits = 1.0 / m
    close = 0.5 if m % 2 == 0 else 0.5 + 1.0 / (2.0 * m * m)
    lanes = quality_lanes(m)
    if lanes:
        quality = 0.5 * hits + 0.25 * float(np.mean([1.0 / q for q in lanes])) + 0.25 * close
    else:
        quality = 0.5 * hits + 0.5 * close
    return {"holdout_hits": hits, "holdout_quality": quality}


@numba.njit(nogil=True, cache=True)
def _target_rows(lo, hi, pred, ha, hl, lanes, low, modulus, hits, quality):
    n = ha.shape[0]
    n_lanes = lanes.shape[0]
    half = modulus / 2.0
    for i in range(lo, hi):
        h = 0
        lane_hits = 0
        close = 0.0
        for j in range(n):
            a = pred[i, j] - low
            t = ha[j]
            if a == t:
                h += 1
            for k in range(n_lanes):
                if a % lanes[k] == hl[k, j]:
                    lane_hits += 1
            d = (a - t) % modulus
            if modulus - d < d:
                d = modulus - d
            close += 1.0 - d / half
        hr = h / n
        cm = close / n
        hits[i] = hr
        if n_lanes:
            quality[i] = 0.5 * hr + 0.25 * lane_hits / (n_lanes * n) + 0.25 * cm
        else:
            quality[i] = 0.5 * hr + 0.5 * cm


@numba.njit(parallel=True, nogil=True, cache=True)
def _target_kernel(pred, ha, hl, lanes, low, modulus, hits, quality, n_blocks):
    n_rows = pred.shape[0]
    for b in prange(n_blocks):
        lo = (n_rows * b) // n_blocks
        hi = (n_rows * (b + 1)) // n_blocks
        _target_rows(lo, hi, pred, ha, hl, lanes, low, modulus, hits, quality)


def target_columns(
    pred_holdout: np.ndarray, holdout: np.ndarray, low: int, modulus: int
) -> dict[str, np.ndarray]:
    """``TARGET_SCHEMA`` columns (float64, length N) from the holdout draws only.

    - ``holdout_hits``: share of holdout draws predicted exactly. Chance: about 1/modulus.
    - ``holdout_quality``: fixed, independent of any ScorerConfig. Lanes L are the prime-power
      factors of the modulus when it has at least two distinct primes (1000 -> [8, 125],
      36 -> [4, 9]), else none. Closeness c_j = 1 - circdist(pred_j - low, act_j - low; M)/(M/2).
      quality = 0.5*hits + 0.25*mean lane match rate + 0.25*mean(c); without lanes
      0.5*hits + 0.5*mean(c). Exact prediction gives 1.0. Chance (``target_chance``):
      0.5/M + 0.25*mean(1/L) + 0.25*E[c] with E[c] = 1/2 (even M) or 1/2 + 1/(2M^2) (odd M);
      0.142125 for M = 1000.
    """
    holdout = np.ascontiguousarray(holdout, dtype=np.int64).reshape(-1)
    n = holdout.shape[0]
    pred_holdout = np.asarray(pred_holdout)
    if pred_holdout.ndim != 2:
        raise ValueError(f"pred_holdout must be 2-D, got shape {pred_holdout.shape}")
    if n == 0:
        raise ValueError("no holdout draws")
    if pred_holdout.shape[1] != n:
        raise ValueError(f"pred_holdout has {pred_holdout.shape[1]} draws, holdout has {n}")
    if modulus < 1:
        raise ValueError(f"modulus must be >= 1, got {modulus}")
    if pred_holdout.dtype != np.int64 or not pred_holdout.flags.c_contiguous:
        pred_holdout = np.ascontiguousarray(pred_holdout, dtype=np.int64)
    n_rows = pred_holdout.shape[0]
    lanes = np.asarray(quality_lanes(modulus), dtype=np.int64)
    ha = holdout - low
    hl = np.stack([ha % q for q in lanes]) if lanes.size else np.zeros((0, n), np.int64)
    hits = np.zeros(n_rows)
    quality = np.zeros(n_rows)
    if n_rows:
        n_blocks = min(n_rows, numba.get_num_threads() * 16)
        _target_kernel(
            pred_holdout,
            ha,
            np.ascontiguousarray(hl, dtype=np.int64),
            lanes,
            np.int64(low),
            np.int64(modulus),
            hits,
            quality,
            n_blocks,
        )
    return {"holdout_hits": hits, "holdout_quality": quality}
