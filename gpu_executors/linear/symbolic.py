"""Words as linear forms: a ``w``-bit word is a ``(w, width)`` uint64 array, row ``i`` holding
the packed coefficients (over the unknown state bits) of the word's bit ``i`` (bit 0 = LSB).

Shifts, masks and XORs of such words are what a GF(2)-linear generator does to its state, so a
generator written with these functions computes, for each output word, which state bits each
output bit is the XOR of. There are no constants: every generator here is linear, not affine.
"""

from __future__ import annotations

import numba
import numpy as np

U64 = np.uint64


def unknowns(n: int, start: int, bits: int) -> np.ndarray:
    """The word whose bit ``i`` is unknown ``start + i`` (of ``n``)."""
    width = (n + 63) // 64
    out = np.zeros((bits, width), U64)
    cols = np.arange(start, start + bits)
    out[np.arange(bits), cols // 64] = U64(1) << (cols % 64).astype(U64)
    return out


def shr(a: np.ndarray, s: int) -> np.ndarray:
    """``a >> s``."""
    out = np.zeros_like(a)
    out[: len(a) - s] = a[s:]
    return out


def shl(a: np.ndarray, s: int) -> np.ndarray:
    """``(a << s)`` truncated to the word's width."""
    out = np.zeros_like(a)
    out[s:] = a[: len(a) - s]
    return out


def bits_of(m: int, width: int) -> np.ndarray:
    return ((m >> np.arange(width)) & 1).astype(bool)


def mask(a: np.ndarray, m: int) -> np.ndarray:
    """``a & m`` for a constant ``m``."""
    out = a.copy()
    out[~bits_of(m, len(a))] = 0
    return out


def times_bit(row: np.ndarray, m: int, width: int) -> np.ndarray:
    """``m if bit else 0`` for a constant ``m``, where ``row`` is the bit's linear form."""
    out = np.zeros((width, len(row)), U64)
    out[bits_of(m, width)] = row
    return out


def evaluate(word: np.ndarray, x: np.ndarray) -> int:
    """The word's value when the unknowns are the packed bits ``x``."""
    par = np.bitwise_xor.reduce(word & x, axis=1)
    value = 0
    for i, p in enumerate(par):
        if bin(int(p)).count("1") & 1:
            value |= 1 << i
    return value


def matrix_of(f, bits: int) -> np.ndarray:
    """The GF(2) matrix of a linear map ``f`` on ``bits``-bit integers: row ``i`` is the
    mask of input bits that output bit ``i`` is the XOR of."""
    cols = [f(1 << j) for j in range(bits)]
    return np.array([sum(((c >> i) & 1) << j for j, c in enumerate(cols)) for i in range(bits)],
                    np.uint64)


@numba.njit(cache=True, nogil=True)
def apply_matrix(rows: np.ndarray, word: np.ndarray) -> np.ndarray:
    """``f(word)`` for the map whose :func:`matrix_of` is ``rows``: one pass, no temporaries."""
    out = np.zeros_like(word)
    for i in range(rows.shape[0]):
        m = rows[i]
        j = 0
        while m:
            if m & U64(1):
                out[i] ^= word[j]
            m >>= U64(1)
            j += 1
    return out
