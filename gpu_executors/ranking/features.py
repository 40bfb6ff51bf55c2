"""Features for ranking sieve survivors, computed from the train draws and nothing else.

The observed history is split in two: the *train* draws, which features may read, and the
*holdout* draws, which only the targets (``targets.py``) read. ``feature_columns`` takes each
candidate's predicted train draws and the observed train draws, so no feature can leak the
answer a ranker is scored on. Column names and meanings are in ``schema.py``.

One compiled pass per row block computes every column but the FFT ones (``spectral.py``): the
first sweep over a row accumulates every per-draw statistic at once, then one function per
feature group turns its accumulators into columns. The train-side inputs travel as one
``TrainTables`` record (a NamedTuple, which numba passes as a struct at no cost).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np
from numba import prange

from gpu_executors.ranking.schema import (
    C_AUTOCORR,
    C_CUSUM,
    C_DIGITS,
    C_DIST,
    C_EVIDENCE,
    C_LANE,
    C_MATCH,
    C_OUTSIDE,
    C_POPCOUNT,
    C_RESIDUE,
    C_TEMPORAL,
    FEATURE_NAMES,
    N_FEATURES,
    N_LAGS,
    N_SLOTS,
    ScorerConfig,
)
from gpu_executors.ranking.spectral import fft_columns

U64 = np.uint64
MIN_BATTERY_DRAWS = 8
EVIDENCE_CAP = 320.0
LUT_MAX = 1 << 16  # moduli up to this get residue/digit lookup tables


class TrainTables(NamedTuple):
    """Everything the row kernel reads besides the predictions, built once per call.

    ``tr``/``td`` are the train residues per slot and train digits, ``logq`` the train residue
    log-probabilities, ``ptab``/``logptab`` clamped probabilities of a count c over n,
    ``lut[k, a]`` the slot residues (k < 3) and digits (k >= 3) of a = value - low for
    a < lut.shape[1] (divisions are the kernel's main cost otherwise).
    """

    train: np.ndarray  # observed train draws, int64
    low: np.int64
    modulus: np.int64
    window: np.int64
    mods: np.ndarray  # residue moduli per slot
    near: np.ndarray  # "near" circular distance per slot
    tr: np.ndarray
    td: np.ndarray
    logq: np.ndarray
    ptab: np.ndarray
    logptab: np.ndarray
    lut: np.ndarray
    win_lo: np.ndarray  # temporal window starts
    win_hi: np.ndarray  # temporal window stops
    min_conf: float
    pop_bits: float
    battery: bool  # compute the configuration-independent battery (autocorr, cusum, popcount)


@numba.njit(nogil=True, inline="always")
def _popcount(x):
    v = U64(x)
    v = v - ((v >> U64(1)) & U64(0x5555555555555555))
    v = (v & U64(0x3333333333333333)) + ((v >> U64(2)) & U64(0x3333333333333333))
    v = (v + (v >> U64(4))) & U64(0x0F0F0F0F0F0F0F0F)
    return np.int64((v * U64(0x0101010101010101)) >> U64(56))


@numba.njit(nogil=True, inline="always")
def _residue_columns(i, t, n, hist, r_match, r_near, rates, out):
    """Residue match/near rates, KL and coherence per slot, then the lane columns; clears
    ``hist`` for the next row."""
    for k in range(N_SLOTS):
        m = t.mods[k]
        kl = 0.0
        for bb in range(m):
            c = hist[k, bb]
            kl += t.ptab[c] * (t.logptab[c] - t.logq[k, bb])
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


@numba.njit(nogil=True, inline="always")
def _temporal_columns(i, t, cum_e, cum_r, wr, out):
    """Exact-match rate per temporal window (residue_1 rate for confidence), from the prefix
    counts ``cum_e`` (exact) and ``cum_r`` (residue_1)."""
    win_lo, win_hi = t.win_lo, t.win_hi
    n_win = win_lo.shape[0]
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
        if (cum_r[win_hi[w]] - cum_r[win_lo[w]]) / length >= t.min_conf:
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


@numba.njit(nogil=True, inline="always")
def _autocorr_columns(i, xs, vx, n, ac, out):
    """Autocorrelation of the centered row ``xs`` at lags 1..10, its decay and significant lags.

    The lags are summed in independent accumulators in one sweep over the row, each over t in
    order (the same sums, in the same order, as one lag at a time).
    """
    sqrt_n = math.sqrt(n)
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


@numba.njit(nogil=True, inline="always")
def _spread_columns(i, pred, t, n, sums, xs, ac, out):
    """Distribution, residual, popcount and cusum columns (a second, centered pass over the row),
    then the autocorrelation from the centered row it leaves in ``xs``.

    ``sums`` = (psum, pmin, pmax, rsum, rabs, rmax, pcs) from the first sweep.
    """
    psum, pmin, pmax, rsum, rabs, rmax, pcs = sums
    low, train = t.low, t.train
    fmod = float(t.modulus)
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
    out[C_POPCOUNT, i] = pcmean / t.pop_bits
    out[C_POPCOUNT + 1, i] = math.sqrt(vp / n) / t.pop_bits

    if not t.battery:
        for c in range(C_AUTOCORR, C_AUTOCORR + N_LAGS + 2):
            out[c, i] = 0.0
        for c in range(C_CUSUM, C_CUSUM + 3):
            out[c, i] = 0.0
        out[C_POPCOUNT, i] = 0.0
        out[C_POPCOUNT + 1, i] = 0.0
        return
    scale = n * fmod * math.sqrt(n)
    out[C_CUSUM, i] = smax / scale
    out[C_CUSUM + 1, i] = sabs / n / scale
    out[C_CUSUM + 2, i] = crossings
    _autocorr_columns(i, xs, vx, n, ac, out)


@numba.njit(nogil=True, cache=True)
def _feature_rows(lo, hi, pred, t, out):
    """Rows lo..hi: every feature except the FFT ones and the evidence.

    ``out[C_EVIDENCE]`` receives the raw outside-window match count (turned into evidence by the
    caller). The sweep below reads each predicted draw once for every group's accumulators.
    """
    train, low, mods, near, tr, td, lut = t.train, t.low, t.mods, t.near, t.tr, t.td, t.lut
    n = train.shape[0]
    w0 = min(t.window, n)
    n_out = n - w0
    n_lut = lut.shape[1]
    hist = np.zeros((N_SLOTS, t.logq.shape[1]), dtype=np.int64)
    cum_e = np.zeros(n + 1, dtype=np.int64)
    cum_r = np.zeros(n + 1, dtype=np.int64)
    xs = np.empty(n, dtype=np.float64)
    rates = np.zeros(N_SLOTS, dtype=np.float64)
    r_match = np.zeros(N_SLOTS, dtype=np.int64)
    r_near = np.zeros(N_SLOTS, dtype=np.int64)
    wr = np.empty(max(t.win_lo.shape[0], 1), dtype=np.float64)
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
            tj = train[j]
            a = p - low
            if p == tj:
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
            res = p - tj
            rsum += res
            rabs += abs(res)
            rmax = max(rmax, abs(res))
            pcs += _popcount(a)

        out[C_MATCH, i] = exact / n
        out[C_OUTSIDE, i] = outside / n_out if n_out > 0 else 0.0
        out[C_EVIDENCE, i] = outside
        _residue_columns(i, t, n, hist, r_match, r_near, rates, out)
        out[C_DIGITS, i] = d1 / n
        out[C_DIGITS + 1, i] = d2 / n
        out[C_DIGITS + 2, i] = d3 / n
        out[C_DIGITS + 3, i] = (d1 + d2 + d3) / n
        _temporal_columns(i, t, cum_e, cum_r, wr, out)
        _spread_columns(i, pred, t, n, (psum, pmin, pmax, rsum, rabs, rmax, pcs), xs, ac, out)


@numba.njit(parallel=True, nogil=True, cache=True)
def _feature_kernel(pred, t, out, n_blocks):
    """Rows in ``n_blocks`` blocks over the threads (the row work lives in ``_feature_rows``,
    which keeps the parallel pass's compile time small)."""
    n_rows = pred.shape[0]
    for b in prange(n_blocks):
        _feature_rows((n_rows * b) // n_blocks, (n_rows * (b + 1)) // n_blocks, pred, t, out)


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
    from scipy import stats  # a second of import: kept off every process's start-up

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
        tables = TrainTables(
            train=train,
            low=np.int64(low),
            modulus=np.int64(modulus),
            window=np.int64(window),
            mods=mods,
            near=near,
            tr=tr,
            td=td,
            logq=logq,
            ptab=ptab,
            logptab=logptab,
            lut=np.ascontiguousarray(lut, dtype=np.int64),
            win_lo=np.ascontiguousarray(wins[:, 0]),
            win_hi=np.ascontiguousarray(wins[:, 1]),
            min_conf=float(config.min_confidence),
            pop_bits=pop_bits,
            battery=battery,
        )
        _feature_kernel(pred, tables, out, n_blocks)
        if battery:
            fft_columns(pred, n, modulus, out)
    out[C_EVIDENCE] = outside_evidence(out[C_EVIDENCE], n - min(window, n), modulus)
    return {name: out[i] for i, name in enumerate(FEATURE_NAMES)}
