"""The FFT columns of the feature battery: spectral peaks of each prediction and its differences.

They run outside the row kernel because numpy's ``rfft`` beats a compiled transform and cannot be
called from numba: threads over row blocks, each a chunk at a time into buffers it reuses.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from gpu_executors.ranking.schema import C_FFT

FFT_CHUNK_ROWS = 8192  # rows per FFT chunk at most; also at most 2^21 values


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


def fft_columns(pred: np.ndarray, n: int, modulus: int, out: np.ndarray) -> None:
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
