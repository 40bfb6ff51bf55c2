"""Draw functions: how an application turns generator words into one draw.

Each draw function is one :class:`DrawKind` subclass holding everything about it: its CLI syntax
and parameter rule, the word width it needs, its ``draw(state) -> int`` (a factory closing over
a generator's compiled ``next``, compiled by :func:`make_drawer`), its single-word
``value(word)`` for the sieve's fast paths, and the exact probability of each draw value under
uniform words (the null model's input). A draw may consume several words (rejection sampling),
which is why the sieve calls draws, not words. Adding a draw function means one subclass,
registered in ``DRAW_KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import ClassVar

import numba
import numpy as np

from gpu_executors.prng import sequences
from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.specialise import specialise

U64 = np.uint64
M32 = U64(0xFFFFFFFF)

Params = tuple[int, ...]


def mask_for(max_value: int) -> int:
    """The smallest all-ones mask covering ``max_value`` (numpy's masked rejection)."""
    mask = max_value
    for shift in (1, 2, 4, 8, 16):
        mask |= mask >> shift
    return mask


class DrawKind:
    """One draw function; subclasses fill in the class attributes and the two factories."""

    name: ClassVar[str]
    usage: ClassVar[str]  # "NAME:PARAM... - what it is", shown in errors and CLI help
    arity: ClassVar[int] = 1
    min_word_bits: ClassVar[int] = 1

    def param_error(self, params: Params) -> str | None:
        """Why ``params`` are out of range, or None (default: one M in [1, 2^32])."""
        return None if 1 <= params[0] <= 2**32 else "M must be in [1, 2^32]"

    def low(self, params: Params) -> int:
        """Smallest draw value."""
        return 0

    def n_values(self, params: Params) -> int:
        """How many distinct draw values there are."""
        return params[0]

    def check_compatible(self, gen: Generator, params: Params) -> None:
        """Refuse pairs that have no meaning (e.g. nextint needs at least 31-bit words)."""
        need = self.min_word_bits
        if gen.output_bits < need:
            text = ":".join([self.name, *map(str, params)])
            raise ValueError(
                f"draw {text} needs words of at least {need} bits; "
                f"{gen.name} produces {gen.output_bits}-bit words"
            )

    def drawer(self, gen: Generator, params: Params) -> Callable:
        """``draw(state) -> int64``, for :func:`make_drawer` to compile."""
        raise NotImplementedError

    def word_value(self, gen: Generator, params: Params) -> Callable:
        """``value(word) -> (draw, certain)``, for :func:`make_word_value` to compile."""
        raise NotImplementedError

    def probabilities(self, gen: Generator, params: Params, v: np.ndarray) -> np.ndarray:
        """P(draw == low + v) for ``v`` in ``[0, n_values)`` under uniform words (default:
        uniform, which every rejection sampler is)."""
        return np.full(v.shape, 1.0 / self.n_values(params))


class Mod(DrawKind):
    name = "mod"
    usage = "mod:M - word % M"

    def check_compatible(self, gen: Generator, params: Params) -> None:
        super().check_compatible(gen, params)
        if params[0] > (1 << gen.output_bits):
            raise ValueError(f"mod:{params[0]} exceeds {gen.name}'s {gen.output_bits}-bit words")

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        m = U64(params[0])

        def draw_mod(state):
            return np.int64(nxt(state) % m)

        return draw_mod

    def word_value(self, gen: Generator, params: Params) -> Callable:
        m = U64(params[0])
        # Known-narrow words let LLVM use 32-bit vector division-by-constant.
        narrow = M32 if gen.output_bits <= 32 else U64(0xFFFFFFFFFFFFFFFF)

        def value_mod(w):
            return np.int64((w & narrow) % m), True

        return value_mod

    def probabilities(self, gen: Generator, params: Params, v: np.ndarray) -> np.ndarray:
        # Biased unless M divides the word count: the first r residues get one word more.
        total = 1 << gen.output_bits
        q, r = divmod(total, self.n_values(params))
        return np.where(v < r, q + 1, q) / total


class NextInt(DrawKind):
    name = "nextint"
    usage = "nextint:BOUND - Java Random.nextInt(bound) (power-of-two case, rejection)"
    min_word_bits = 31

    def param_error(self, params: Params) -> str | None:
        return None if 1 <= params[0] < 2**31 else "BOUND must be in [1, 2^31)"

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        bound = np.int64(params[0])
        shift31 = U64(gen.output_bits - 31)
        pow2 = (params[0] & (params[0] - 1)) == 0

        def draw_nextint(state):
            r = np.int64(nxt(state) >> shift31) & np.int64(0x7FFFFFFF)
            if pow2:
                return (bound * r) >> np.int64(31)
            val = r % bound
            # Java: while (bits - val + (bound-1) < 0) in 32-bit signed arithmetic.
            while r - val + (bound - 1) >= np.int64(2**31):
                r = np.int64(nxt(state) >> shift31) & np.int64(0x7FFFFFFF)
                val = r % bound
            return val

        return draw_nextint

    def word_value(self, gen: Generator, params: Params) -> Callable:
        bound = np.int64(params[0])
        shift31 = U64(gen.output_bits - 31)
        pow2 = (params[0] & (params[0] - 1)) == 0

        def value_nextint(w):
            r = np.int64(w >> shift31) & np.int64(0x7FFFFFFF)
            if pow2:
                return (bound * r) >> np.int64(31), True
            val = r % bound
            return val, r - val + (bound - 1) < np.int64(2**31)

        return value_nextint


class RandInt(DrawKind):
    name = "randint"
    usage = "randint:M - numpy RandomState.randint(0, M), Ruby Random#rand(M) (masked rejection)"
    min_word_bits = 32

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        rng = U64(params[0] - 1)
        mask = U64(mask_for(params[0] - 1))
        full = params[0] - 1 == 0xFFFFFFFF

        def draw_randint(state):
            if rng == U64(0):
                return np.int64(0)
            if full:
                return np.int64(nxt(state) & M32)
            v = nxt(state) & mask
            while v > rng:
                v = nxt(state) & mask
            return np.int64(v)

        return draw_randint

    def word_value(self, gen: Generator, params: Params) -> Callable:
        rng = U64(params[0] - 1)
        mask = U64(mask_for(params[0] - 1))

        def value_randint(w):
            v = w & M32 & mask
            return np.int64(v), v <= rng

        return value_randint


class RandRange(DrawKind):
    name = "randrange"
    usage = "randrange:M - CPython random.randrange(M) (getrandbits + rejection)"
    min_word_bits = 32

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        n = U64(params[0])
        k = params[0].bit_length()
        if k <= 32:
            shift = U64(32 - k)

            def draw_randrange(state):
                r = (nxt(state) & M32) >> shift
                while r >= n:
                    r = (nxt(state) & M32) >> shift
                return np.int64(r)

            return draw_randrange

        # M = 2^32: getrandbits(33) takes two words, the low 32 bits first, then 1 bit.
        def draw_randrange33(state):
            r = (nxt(state) & M32) | (((nxt(state) & M32) >> U64(31)) << U64(32))
            while r >= n:
                r = (nxt(state) & M32) | (((nxt(state) & M32) >> U64(31)) << U64(32))
            return np.int64(r)

        return draw_randrange33

    def word_value(self, gen: Generator, params: Params) -> Callable:
        n = U64(params[0])
        k = params[0].bit_length()
        shift = U64(32 - k) if k <= 32 else U64(0)
        one_word = k <= 32

        def value_randrange(w):
            r = (w & M32) >> shift
            return np.int64(r), one_word and r < n

        return value_randrange


class MtRand(DrawKind):
    """PHP's mt_rand(min, max); generators with ``php_legacy_range`` scale with a double."""

    name = "mt_rand"
    usage = "mt_rand:MIN:MAX - PHP mt_rand(min, max)"
    arity = 2
    min_word_bits = 32

    def param_error(self, params: Params) -> str | None:
        lo, hi = params
        return None if 0 <= lo <= hi < 2**31 else "need 0 <= MIN <= MAX < 2^31"

    def low(self, params: Params) -> int:
        return params[0]

    def n_values(self, params: Params) -> int:
        return params[1] - params[0] + 1

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        lo, hi = params
        umax = U64(hi - lo)
        base = np.int64(lo)
        if gen.php_legacy_range:
            span = float(hi - lo + 1)

            def draw_mt_rand_legacy(state):
                n = np.int64((nxt(state) & M32) >> U64(1))
                return base + np.int64(span * (n / 2147483648.0))

            return draw_mt_rand_legacy

        umod = U64(hi - lo + 1)
        limit = U64(0xFFFFFFFF - (0xFFFFFFFF % (hi - lo + 1)) - 1)
        pow2 = ((hi - lo + 1) & (hi - lo)) == 0

        def draw_mt_rand(state):
            r = nxt(state) & M32
            if umax == M32:
                return base + np.int64(r)
            if not pow2:
                while r > limit:
                    r = nxt(state) & M32
            return base + np.int64(r % umod)

        return draw_mt_rand

    def word_value(self, gen: Generator, params: Params) -> Callable:
        lo, hi = params
        base = np.int64(lo)
        if gen.php_legacy_range:
            span = float(hi - lo + 1)

            def value_mt_rand_legacy(w):
                n = np.int64((w & M32) >> U64(1))
                return base + np.int64(span * (n / 2147483648.0)), True

            return value_mt_rand_legacy
        umod = U64(hi - lo + 1)
        full = hi - lo == 0xFFFFFFFF
        limit = U64(0xFFFFFFFF - (0xFFFFFFFF % (hi - lo + 1)) - 1)
        pow2 = ((hi - lo + 1) & (hi - lo)) == 0

        def value_mt_rand(w):
            r = w & M32
            if full:
                return base + np.int64(r), True
            return base + np.int64(r % umod), pow2 or r <= limit

        return value_mt_rand

    def probabilities(self, gen: Generator, params: Params, v: np.ndarray) -> np.ndarray:
        if not gen.php_legacy_range:
            return super().probabilities(gen, params, v)
        # n in [0, 2^31) maps to floor(span * n / 2^31): count the n that land on v.
        span = self.n_values(params)
        lo = np.ceil(v * 2.0**31 / span)
        hi = np.ceil((v + 1) * 2.0**31 / span)
        return (hi - lo) / 2.0**31


# --- Go math/rand: Rand's methods over a Source's 63-bit Int63 words


class GoInt63n(DrawKind):
    """Go's ``Rand.Int63n(n)``: a mask for powers of two, else rejection above the largest
    multiple of ``n`` below 2^63, then ``% n``. Exactly uniform."""

    name = "int63n"
    usage = "int63n:N - Go rand.Int63n(n) (63-bit words, rejection)"
    min_word_bits = 63

    def param_error(self, params: Params) -> str | None:
        return None if 1 <= params[0] < 2**63 else "N must be in [1, 2^63)"

    def check_compatible(self, gen: Generator, params: Params) -> None:
        if gen.output_bits != 63:
            raise ValueError(
                f"draw {self.name}:{params[0]} reads a Go rand.Source's 63-bit Int63 words; "
                f"{gen.name} produces {gen.output_bits}-bit words"
            )

    def _shape(self, params: Params) -> tuple[int, int, bool]:
        """(shift of the value inside the word, largest accepted value, power of two)."""
        n = params[0]
        return 0, (1 << 63) - 1 - (1 << 63) % n, n & (n - 1) == 0

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        shift, top, pow2 = self._shape(params)
        n = U64(params[0])
        sh = U64(shift)
        most = U64(top)

        def draw_go(state):
            v = nxt(state) >> sh
            if pow2:
                return np.int64(v & (n - U64(1)))
            while v > most:
                v = nxt(state) >> sh
            return np.int64(v % n)

        return draw_go

    def word_value(self, gen: Generator, params: Params) -> Callable:
        shift, top, pow2 = self._shape(params)
        n = U64(params[0])
        sh = U64(shift)
        most = U64(top)

        def value_go(w):
            v = w >> sh
            if pow2:
                return np.int64(v & (n - U64(1))), True
            return np.int64(v % n), v <= most

        return value_go


class GoIntn(GoInt63n):
    """Go's ``Rand.Intn(n)``: ``Int31n(n)`` (on ``Int31() = Int63() >> 32``) for
    n <= 2^31 - 1, else ``Int63n(n)``. Exactly uniform."""

    name = "intn"
    usage = "intn:N - Go rand.Intn(n) (Int31n on Int63 >> 32 below 2^31, else Int63n)"

    def _shape(self, params: Params) -> tuple[int, int, bool]:
        n = params[0]
        if n > 2**31 - 1:
            return super()._shape(params)
        return 32, (1 << 31) - 1 - (1 << 31) % n, n & (n - 1) == 0


# --- .NET System.Random: Sample() = InternalSample() / int.MaxValue, scaled and truncated

DOTNET_MBIG = 2147483647
DOTNET_INV = 1.0 / DOTNET_MBIG  # the reference source's (1.0/MBIG)
DOTNET_LARGE_DIV = 4294967293.0  # 2 * (uint)int.MaxValue - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _first_reaching(f: Callable, v: np.ndarray, est: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """For a nondecreasing integer function ``f`` on ``[lo, hi)``: the least ``x`` with
    ``f(x) >= v`` (``hi`` where none), walking from the estimate ``est`` (a few steps off)."""
    b = np.clip(est, lo, hi).astype(np.int64)
    while True:
        down = (b > lo) & (f(np.maximum(b - 1, lo)) >= v)
        if not down.any():
            break
        b -= down
    while True:
        up = (b < hi) & (f(np.minimum(b, hi - 1)) < v)
        if not up.any():
            return b
        b += up


class DotnetNext(DrawKind):
    """.NET ``Random.Next(n)`` = ``(int)(Sample() * n)``: biased where n does not divide
    2^31 - 1, by the exact count of words each value gets."""

    name = "dotnet_next"
    usage = "dotnet_next:N - .NET Random.Next(n) ((int)(Sample() * n))"

    def param_error(self, params: Params) -> str | None:
        return None if 1 <= params[0] <= INT32_MAX else "N must be in [1, 2^31 - 1]"

    def check_compatible(self, gen: Generator, params: Params) -> None:
        if not gen.dotnet_sample:
            text = ":".join([self.name, *map(str, params)])
            raise ValueError(
                f"draw {text} scales .NET Random's InternalSample() words; "
                f"{gen.name} does not produce them"
            )

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        n = float(params[0])

        def draw_dotnet_next(state):
            return np.int64((np.float64(nxt(state)) * DOTNET_INV) * n)

        return draw_dotnet_next

    def word_value(self, gen: Generator, params: Params) -> Callable:
        n = float(params[0])

        def value_dotnet_next(w):
            return np.int64((np.float64(w) * DOTNET_INV) * n), True

        return value_dotnet_next

    def probabilities(self, gen: Generator, params: Params, v: np.ndarray) -> np.ndarray:
        # Words r in [0, 2^31 - 1) give floor(r / MBIG * n) (as doubles), nondecreasing in r:
        # value v gets the words from the first reaching v to the first reaching v + 1.
        n = float(params[0])

        def f(r: np.ndarray) -> np.ndarray:
            return np.floor((r.astype(np.float64) * DOTNET_INV) * n).astype(np.int64)

        def first(t: np.ndarray) -> np.ndarray:
            est = np.ceil(t * (DOTNET_MBIG / n))
            return _first_reaching(f, t, est, 0, DOTNET_MBIG)

        v = np.asarray(v, dtype=np.int64)
        return (first(v + 1) - first(v)) / DOTNET_MBIG


class DotnetRange(DrawKind):
    """.NET ``Random.Next(min, max)``: ``(int)(Sample() * (max - min)) + min`` when the range
    fits an int, else two words (``GetSampleForLargeRange``: a word, negated when the next word
    is even, shifted and scaled into [0, 1))."""

    name = "dotnet_range"
    usage = "dotnet_range:MIN:MAX - .NET Random.Next(min, max) (MAX excluded; int32 bounds)"
    arity = 2

    def param_error(self, params: Params) -> str | None:
        lo, hi = params
        return None if INT32_MIN <= lo < hi <= INT32_MAX else "need -2^31 <= MIN < MAX < 2^31"

    def low(self, params: Params) -> int:
        return params[0]

    def n_values(self, params: Params) -> int:
        return params[1] - params[0]

    check_compatible = DotnetNext.check_compatible

    def drawer(self, gen: Generator, params: Params) -> Callable:
        nxt = gen.next
        lo, hi = params
        span = float(hi - lo)
        base = np.int64(lo)
        large = hi - lo > INT32_MAX

        def draw_dotnet_range(state):
            if not large:
                return np.int64((np.float64(nxt(state)) * DOTNET_INV) * span) + base
            r = np.int64(nxt(state))
            if nxt(state) % U64(2) == U64(0):
                r = -r
            d = (np.float64(r) + 2147483646.0) / DOTNET_LARGE_DIV
            return np.int64(d * span) + base

        return draw_dotnet_range

    def word_value(self, gen: Generator, params: Params) -> Callable:
        lo, hi = params
        span = float(hi - lo)
        base = np.int64(lo)
        one_word = hi - lo <= INT32_MAX

        def value_dotnet_range(w):
            # the large range takes two words: no value from one
            return np.int64((np.float64(w) * DOTNET_INV) * span) + base, one_word

        return value_dotnet_range

    def probabilities(self, gen: Generator, params: Params, v: np.ndarray) -> np.ndarray:
        lo, hi = params
        span = hi - lo
        if span <= INT32_MAX:
            return DotnetNext().probabilities(gen, (span,), v)
        # x = +-r in (-MBIG, MBIG) maps to floor((x + MBIG - 1) / (2^32 - 3) * span),
        # nondecreasing in x. r = 0 either way; x < 0 needs an even second word (2^30 of
        # MBIG), x > 0 an odd one (2^30 - 1).
        m = DOTNET_MBIG
        fspan = float(span)

        def f(x: np.ndarray) -> np.ndarray:
            d = (x.astype(np.float64) + 2147483646.0) / DOTNET_LARGE_DIV
            return np.floor(d * fspan).astype(np.int64)

        def first(t: np.ndarray) -> np.ndarray:
            est = np.ceil(t * (DOTNET_LARGE_DIV / fspan) - 2147483646.0)
            return _first_reaching(f, t, est, -(m - 1), m)

        v = np.asarray(v, dtype=np.int64)
        a, b = first(v), first(v + 1)  # the x in [a, b) give value v
        neg = np.clip(np.minimum(b, 0) - a, 0, None)  # x in [a, min(b, 0))
        pos = np.clip(b - np.maximum(a, 1), 0, None)  # x in [max(a, 1), b)
        zero = (a <= 0) & (b > 0)
        return (neg * 2.0**30 / m + pos * (2.0**30 - 1) / m + zero) / m


DRAW_KINDS: dict[str, DrawKind] = {
    k.name: k
    for k in (
        Mod(),
        NextInt(),
        RandInt(),
        RandRange(),
        MtRand(),
        GoIntn(),
        GoInt63n(),
        DotnetNext(),
        DotnetRange(),
    )
}


def draw_usage() -> str:
    """Every draw function's syntax, for error messages and CLI help."""
    return "; ".join(k.usage for k in DRAW_KINDS.values())


@dataclass(frozen=True)
class DrawSpec:
    """A parsed ``NAME:PARAM...``: which draw function, with which parameters."""

    kind: str
    params: tuple[int, ...]

    @property
    def draw_kind(self) -> DrawKind:
        return DRAW_KINDS[self.kind]

    @property
    def text(self) -> str:
        return ":".join([self.kind, *map(str, self.params)])

    @property
    def low(self) -> int:
        """Smallest draw value."""
        return self.draw_kind.low(self.params)

    @property
    def n_values(self) -> int:
        """How many distinct draw values there are."""
        return self.draw_kind.n_values(self.params)

    def __str__(self) -> str:
        return self.text


def parse_draw(text: str) -> DrawSpec:
    """Parse the CLI's ``--draw NAME[:PARAM...]`` with a message naming what is valid."""
    name, *raw = text.strip().split(":")
    kind = DRAW_KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown draw function {name!r}; valid: {draw_usage()}")
    if len(raw) != kind.arity:
        raise ValueError(f"draw {text!r}: expected {kind.usage}")
    try:
        params = tuple(int(p) for p in raw)
    except ValueError:
        raise ValueError(f"draw {text!r}: parameters must be integers") from None
    why = kind.param_error(params)
    if why is not None:
        raise ValueError(f"draw {text!r}: {why}")
    return DrawSpec(name, params)


def check_compatible(gen: Generator, spec: DrawSpec) -> None:
    """Refuse pairs that have no meaning (e.g. nextint needs at least 31-bit words)."""
    spec.draw_kind.check_compatible(gen, spec.params)


def _compiled(fn: Callable, gen: Generator, spec: DrawSpec, **options) -> Callable:
    """``fn`` compiled by numba under a name of its own for this (generator, draw).

    numba names compiled code after the function's qualified name and a counter local to the
    process, and a process links a name to the first code it loaded under it. Closures of
    different pairs share a qualified name, so two processes could give them the same name, and
    a process loading both from the kernel cache ran one pair's kernels on the other's draw
    (mt19937 mod:1000 predicted minstd's words). Named per pair, equal names mean equal code.
    """
    fn.__qualname__ = f"{fn.__qualname__}__{gen.name}__{spec.text.replace(':', '_')}"
    return numba.njit(nogil=True, **options)(fn)


@cache
def make_drawer(gen: Generator, spec: DrawSpec) -> Callable:
    """Compiled ``draw(state) -> int64`` for this generator and draw function."""
    check_compatible(gen, spec)
    return _compiled(spec.draw_kind.drawer(gen, spec.params), gen, spec)


@cache
def make_word_value(gen: Generator, spec: DrawSpec) -> Callable:
    """Compiled ``value(word) -> (draw, certain)``: the draw if ``word`` is its first word.

    ``certain`` is False when the draw would have rejected the word and gone on to another
    (or needs two words): a filter must then stop judging the candidate, since this and every
    later draw sit at other words, so that it never drops a true candidate. Used by the sieve's
    fast paths.
    """
    check_compatible(gen, spec)
    return _compiled(spec.draw_kind.word_value(gen, spec.params), gen, spec, inline="always")


def generate_draws(
    gen: Generator,
    spec: DrawSpec,
    seed: int,
    n: int,
    offset: int = 0,
    gaps: int | np.ndarray = 0,
    state: np.ndarray | None = None,
) -> np.ndarray:
    """``n`` draws: skip ``offset`` words, then a draw, ``gaps[i]`` discarded words, a draw, ...

    ``gaps`` is one constant or ``n - 1`` per-draw gaps. Pass ``state`` to start from a state
    (state scans) instead of seeding.
    """
    gap_arr = np.full(max(n - 1, 0), gaps, np.int64) if np.isscalar(gaps) else np.asarray(gaps)
    if gap_arr.shape != (max(n - 1, 0),):
        raise ValueError(f"need {max(n - 1, 0)} gaps, got {gap_arr.shape}")
    st = gen.seeded(seed) if state is None else state.copy()
    kernels = specialise(
        sequences, f"{gen.name}-{spec.text}", nxt=gen.next, draw=make_drawer(gen, spec)
    )
    return kernels.draws(st, offset, gap_arr.astype(np.int64), n)
