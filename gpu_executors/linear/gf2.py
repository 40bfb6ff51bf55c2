"""Bit-packed Gaussian elimination over GF(2), incremental: rows can be added at any time.

A row is ``L = ceil(n / 64)`` uint64 words, column ``c`` being bit ``c % 64`` of word ``c // 64``;
its right-hand side is one bit kept beside it. The echelon form is kept *block-reduced*: the
lowest set bit of each pivot row is its pivot column, and within each 64-column block a pivot
row is zero at the block's other pivot columns. That lets a batch of new rows be reduced a block
at a time with the method of the four Russians (tables of XORs of up to 8 pivot rows), one pass
over the batch per block, which is what makes MT19937's 20,000 x 19,968 systems take seconds
rather than minutes. Rows that reduce to zero with a right-hand side of 1 make the system
inconsistent; they are counted and reported, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)

U64 = np.uint64
ONE = U64(1)


@jit
def lowbit(x):
    """Index of the lowest set bit of a nonzero uint64."""
    i = 0
    if x & U64(0xFFFFFFFF) == 0:
        x >>= U64(32)
        i += 32
    if x & U64(0xFFFF) == 0:
        x >>= U64(16)
        i += 16
    if x & U64(0xFF) == 0:
        x >>= U64(8)
        i += 8
    if x & U64(0xF) == 0:
        x >>= U64(4)
        i += 4
    if x & U64(0x3) == 0:
        x >>= U64(2)
        i += 2
    if x & U64(0x1) == 0:
        i += 1
    return i


@jit
def parity(x):
    x ^= x >> U64(32)
    x ^= x >> U64(16)
    x ^= x >> U64(8)
    x ^= x >> U64(4)
    x ^= x >> U64(2)
    x ^= x >> U64(1)
    return np.uint8(x & ONE)


@jit
def _build_tables(src, rhs_src, row_at_bit, b, tabs, tab_rhs):
    """tabs[k, s] = XOR of the rows of ``src`` at the bits of byte ``k`` set in ``s``."""
    width = src.shape[1]
    for k in range(8):
        have = False
        for j in range(8):
            if row_at_bit[8 * k + j] >= 0:
                have = True
        if not have:
            continue
        for w in range(b, width):
            tabs[k, 0, w] = U64(0)
        tab_rhs[k, 0] = 0
        for s in range(1, 256):
            low = s & (-s)
            j = 0
            while (1 << j) != low:
                j += 1
            prev = s ^ low
            r = row_at_bit[8 * k + j]
            if r < 0:
                continue  # s holds a column with no pivot: never looked up
            for w in range(b, width):
                tabs[k, s, w] = tabs[k, prev, w] ^ src[r, w]
            tab_rhs[k, s] = tab_rhs[k, prev] ^ rhs_src[r]


@jit
def _apply_tables(rows, rhs, idx, count, b, mask, tabs, tab_rhs):
    """Clear the bits at ``mask``'s columns of block ``b`` in rows ``idx[:count]``."""
    width = rows.shape[1]
    for t in range(count):
        i = idx[t]
        sel = rows[i, b] & mask
        if sel == U64(0):
            continue
        for k in range(8):
            s = np.int64((sel >> U64(8 * k)) & U64(255))
            if s != 0:
                for w in range(b, width):
                    rows[i, w] ^= tabs[k, s, w]
                rhs[i] ^= tab_rhs[k, s]


@jit
def _hits(rows, idx, count, b, mask):
    """Whether any of rows ``idx[:count]`` has a bit at ``mask`` in block ``b``."""
    t = 0
    while t < count and rows[idx[t], b] & mask == U64(0):
        t += 1
    return t < count


@jit
def _find_pivots(batch, brhs, idx, count, b, valid, new_at_bit):
    """New pivots of block ``b`` among the batch rows, mutually reduced; returns their mask.

    Rows scanned before the block filled up are left zero in the block; the rest are cleared
    by the caller with the tables of the new pivots.
    """
    width = batch.shape[1]
    newmask = U64(0)
    for t in range(count):
        if newmask == valid:
            break
        i = idx[t]
        sel = batch[i, b] & newmask
        while sel != U64(0):
            j = lowbit(sel)
            sel &= sel - ONE
            r = new_at_bit[j]
            for w in range(b, width):
                batch[i, w] ^= batch[r, w]
            brhs[i] ^= brhs[r]
        word = batch[i, b]
        if word == U64(0):
            continue
        j = lowbit(word)
        bit = ONE << U64(j)
        for jj in range(64):
            r = new_at_bit[jj]
            if r >= 0 and (batch[r, b] & bit) != U64(0):
                for w in range(b, width):
                    batch[r, w] ^= batch[i, w]
                brhs[r] ^= brhs[i]
        new_at_bit[j] = i
        newmask |= bit
    return newmask


@jit
def _fix_old(ech, erhs, old_at_bit, batch, brhs, new_at_bit, b, newmask):
    """Keep the old pivot rows of block ``b`` zero at the new pivot columns."""
    width = ech.shape[1]
    for jj in range(64):
        r = old_at_bit[jj]
        if r < 0:
            continue
        sel = ech[r, b] & newmask
        while sel != U64(0):
            j = lowbit(sel)
            sel &= sel - ONE
            p = new_at_bit[j]
            for w in range(b, width):
                ech[r, w] ^= batch[p, w]
            erhs[r] ^= brhs[p]


@jit
def _back_substitute(ech, erhs, pivot_col, n_pivots, x):
    """Fill ``x``'s pivot columns (its other columns hold the free variables' values)."""
    width = ech.shape[1]
    order = np.argsort(pivot_col[:n_pivots])[::-1]
    for t in range(n_pivots):
        r = order[t]
        c = pivot_col[r]
        wc = c // 64
        bit = ONE << U64(c % 64)
        x[wc] &= ~bit
        acc = U64(0)
        for w in range(wc, width):
            acc ^= ech[r, w] & x[w]
        if (parity(acc) ^ erhs[r]) & 1:
            x[wc] |= bit


class Echelon:
    """An incrementally grown echelon form of a GF(2) system in ``n`` unknowns."""

    def __init__(self, n: int, capacity: int | None = None) -> None:
        if n < 1:
            raise ValueError("need at least one unknown")
        self.n = n
        self.width = (n + 63) // 64
        # at most n pivot rows; np.zeros maps pages lazily, so the unused part costs nothing
        self.rows = np.zeros((capacity or n, self.width), U64)
        self.rhs = np.zeros(len(self.rows), np.uint8)
        self.pivot_col = np.full(len(self.rows), -1, np.int64)
        self.pivot_row = np.full(self.width * 64, -1, np.int64)
        self.rank = 0
        self.inconsistent = 0  # rows added that contradicted the others
        self.redundant = 0  # rows added that the others already implied
        self._tabs = np.zeros((8, 256, self.width), U64)
        self._tab_rhs = np.zeros((8, 256), np.uint8)

    def copy(self) -> Echelon:
        other = Echelon.__new__(Echelon)
        other.__dict__.update(self.__dict__)
        for name in ("rows", "rhs", "pivot_col", "pivot_row"):
            setattr(other, name, getattr(self, name).copy())
        return other

    @property
    def consistent(self) -> bool:
        return self.inconsistent == 0

    @property
    def nullity(self) -> int:
        """Free unknowns: ``2**nullity`` solutions when consistent."""
        return self.n - self.rank

    def _valid_mask(self, b: int) -> np.uint64:
        top = min(64, self.n - 64 * b)
        return U64((1 << top) - 1)

    def _grow(self, need: int) -> None:
        if need <= len(self.rows):
            return
        cap = max(need, 2 * len(self.rows))
        rows = np.zeros((cap, self.width), U64)
        rows[: self.rank] = self.rows[: self.rank]
        self.rows = rows
        self.rhs = np.concatenate([self.rhs, np.zeros(cap - len(self.rhs), np.uint8)])
        self.pivot_col = np.concatenate(
            [self.pivot_col, np.full(cap - len(self.pivot_col), -1, np.int64)])

    def add(
        self,
        rows: np.ndarray,
        rhs: np.ndarray,
        progress: Callable[[int, int], None] | None = None,
        own: bool = False,
    ) -> np.ndarray:
        """Add equations ``rows @ x = rhs``; return the indices of the rows that contradicted.

        ``rows`` is ``(m, width)`` uint64, not modified unless ``own`` (the caller hands it
        over, saving a copy). ``progress(block, blocks)`` is called after each 64-column block.
        """
        batch = np.array(rows, dtype=U64, copy=not own).reshape(-1, self.width)
        brhs = np.array(rhs, dtype=np.uint8, copy=True).reshape(-1) & 1
        if len(brhs) != len(batch):
            raise ValueError("need one right-hand side per row")
        self._grow(self.rank + len(batch))
        idx = np.arange(len(batch), dtype=np.int64)
        count = len(idx)
        for b in range(self.width):
            if count == 0:
                break
            cols = slice(64 * b, 64 * b + 64)
            old_at_bit = self.pivot_row[cols]
            oldmask = U64(0)
            for j in np.flatnonzero(old_at_bit >= 0):
                oldmask |= ONE << U64(j)
            if oldmask and _hits(batch, idx, count, b, oldmask):
                _build_tables(self.rows, self.rhs, old_at_bit, b, self._tabs, self._tab_rhs)
                _apply_tables(batch, brhs, idx, count, b, oldmask, self._tabs, self._tab_rhs)
            valid = self._valid_mask(b) & ~oldmask
            if valid:
                new_at_bit = np.full(64, -1, np.int64)
                newmask = U64(_find_pivots(batch, brhs, idx, count, b, U64(valid), new_at_bit))
                if newmask:
                    is_new = np.zeros(len(batch), bool)
                    is_new[new_at_bit[new_at_bit >= 0]] = True
                    keep = idx[:count][~is_new[idx[:count]]]
                    if _hits(batch, keep, len(keep), b, newmask):
                        _build_tables(batch, brhs, new_at_bit, b, self._tabs, self._tab_rhs)
                        _apply_tables(batch, brhs, keep, len(keep), b, newmask, self._tabs,
                                      self._tab_rhs)
                    _fix_old(self.rows, self.rhs, old_at_bit, batch, brhs, new_at_bit, b,
                             newmask)
                    for j in np.flatnonzero(new_at_bit >= 0):
                        r = self.rank
                        self.rows[r] = batch[new_at_bit[j]]
                        self.rhs[r] = brhs[new_at_bit[j]]
                        self.pivot_col[r] = 64 * b + j
                        self.pivot_row[64 * b + j] = r
                        self.rank += 1
                    idx = keep
                    count = len(keep)
            if progress is not None:
                progress(b + 1, self.width)
        rest = idx[:count]
        bad = rest[brhs[rest] == 1]
        self.inconsistent += len(bad)
        self.redundant += len(rest) - len(bad)
        return np.sort(bad)

    def solution(self, free: np.ndarray | None = None) -> np.ndarray:
        """One solution as packed words (free unknowns 0, or the bits of ``free``)."""
        if not self.consistent:
            raise ValueError("the system is inconsistent: it has no solution")
        x = np.zeros(self.width, U64) if free is None else np.array(free, U64, copy=True)
        _back_substitute(self.rows, self.rhs, self.pivot_col, self.rank, x)
        return x

    def free_columns(self) -> np.ndarray:
        """The unknowns no pivot determines."""
        return np.flatnonzero(self.pivot_row[: self.n] < 0)

    def nullspace(self, limit: int = 256) -> np.ndarray:
        """Up to ``limit`` basis vectors of the homogeneous system's solutions, packed."""
        saved = self.rhs.copy()
        self.rhs[:] = 0
        try:
            out = []
            for c in self.free_columns()[:limit]:
                free = np.zeros(self.width, U64)
                free[c // 64] = ONE << U64(c % 64)
                x = free.copy()
                _back_substitute(self.rows, self.rhs, self.pivot_col, self.rank, x)
                out.append(x)
        finally:
            self.rhs[:] = saved
        return np.array(out, U64).reshape(-1, self.width)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """0/1 array of shape (..., n) -> packed uint64 words of shape (..., ceil(n / 64))."""
    bits = np.asarray(bits, np.uint8)
    n = bits.shape[-1]
    width = (n + 63) // 64
    padded = np.zeros((*bits.shape[:-1], width * 64), np.uint8)
    padded[..., :n] = bits
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u8").astype(U64)


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`."""
    words = np.ascontiguousarray(words, dtype="<u8")
    as_bytes = words.view(np.uint8).reshape(*words.shape[:-1], words.shape[-1] * 8)
    bits = np.unpackbits(as_bytes, axis=-1, bitorder="little")
    return bits[..., :n]
