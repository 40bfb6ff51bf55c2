"""Which word bits each draw function reveals, derived once per draw value.

A draw reveals, on each word it consumes, a set of known bits (``mask``, ``value``):

- ``word``: the whole word; ``getrandbits:K`` (CPython): the top ``K`` bits (``K > 32`` takes
  several words, low 32 bits first); ``mt_rand`` (PHP's ``mt_rand()``): the top 31 bits.
- ``mod:M``: ``word % M`` fixes ``word % 2^j`` wherever ``2^j`` divides ``M``: the low ``j``.
- ``floor:N`` (``Math.floor(Math.random() * N)``), and PHP's legacy ``mt_rand(min, max)``: the
  draw pins the double's mantissa to an interval; the bits common to the whole interval are
  revealed (about ``log2 N`` of them, fewer where the interval straddles a power of two).
- ``randrange:M`` (CPython, ``getrandbits(k)`` then rejection): the top ``k`` bits;
  ``randint:M`` (numpy's masked rejection): the low bits under the mask; ``nextint:B`` (Java's
  reduction of the top 31 bits): the top ``log2 B`` bits for a power of two, else the low bits
  that ``2^j | B`` fixes; ``mt_rand:MIN:MAX`` (PHP 7.1+): the low bits of ``word % span``.
  These reject some words without showing them: ``simulate`` replays the rejection, and the
  solver assumes none until the equations contradict.

``simulate`` replays a draw on concrete words, exactly as the application computes it, so the
recovered state is checked and predictions are made with the draw function itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from gpu_executors.linear.model import LinearModel

M32 = 0xFFFFFFFF

Reveal = list[tuple[int, int]]  # per consumed word: (mask, value) of known bits


def trailing_zeros(m: int) -> int:
    return (m & -m).bit_length() - 1


def top_bits(k: int, width: int, value: int) -> tuple[int, int]:
    """The top ``k`` of ``width`` bits equal ``value``."""
    shift = width - k
    return ((1 << k) - 1) << shift, value << shift


def common_prefix(lo: int, hi: int, width: int) -> tuple[int, int]:
    """The top bits shared by every ``width``-bit integer in ``[lo, hi]``."""
    t = width - (lo ^ hi).bit_length()
    return top_bits(t, width, lo >> (width - t)) if t else (0, 0)


def _floor_of(m: int, n: int, bits: int) -> int:
    return int((m / float(1 << bits)) * n)  # IEEE double, as JS and PHP compute it


@lru_cache(maxsize=1 << 16)
def floor_interval(v: int, n: int, bits: int) -> tuple[int, int]:
    """All ``bits``-wide mantissas ``m`` with ``floor(m / 2^bits * n) == v``: ``[lo, hi]``."""
    top = (1 << bits) - 1
    lo = min(-(-v * (1 << bits) // n), top)
    while lo > 0 and _floor_of(lo - 1, n, bits) >= v:
        lo -= 1
    while lo < top and _floor_of(lo, n, bits) < v:
        lo += 1
    hi = min(-(-(v + 1) * (1 << bits) // n) - 1, top)
    while hi < top and _floor_of(hi + 1, n, bits) <= v:
        hi += 1
    while hi > lo and _floor_of(hi, n, bits) > v:
        hi -= 1
    return lo, hi


@dataclass(frozen=True)
class LinearDraw:
    """One draw function with its parameters, as the linear route uses it."""

    kind: str
    params: tuple[int, ...]
    word_bits: int
    double_bits: int | None = None
    legacy_range: bool = False  # PHP < 7.1's mt_rand(min, max), scaled with a double

    @property
    def text(self) -> str:
        return ":".join([self.kind, *map(str, self.params)])

    # -- what a draw consumes and reveals

    @property
    def words_per_draw(self) -> int:
        if self.kind == "getrandbits":
            return -(-self.params[0] // 32)
        return 1

    @property
    def can_reject(self) -> bool:
        """Whether a draw may consume words it does not show."""
        return self.reject_rate > 0

    @property
    def reject_rate(self) -> float:
        """The chance that one word is rejected (uniform words)."""
        k, p = self.kind, self.params
        if k == "randrange":
            bits = p[0].bit_length()
            return ((1 << bits) - p[0]) / (1 << bits)
        if k == "randint":
            mask = (1 << (p[0] - 1).bit_length()) - 1
            return (mask - (p[0] - 1)) / (mask + 1)
        if k == "nextint" and p[0] & (p[0] - 1):
            return ((1 << 31) % p[0]) / (1 << 31)
        if k == "mt_rand" and p and not self.legacy_range:
            span = p[1] - p[0] + 1
            return 0.0 if span & (span - 1) == 0 else ((1 << 32) % span + 1) / (1 << 32)
        return 0.0

    def n_values(self) -> int | None:
        k, p = self.kind, self.params
        if k in ("mod", "floor", "randrange", "randint", "nextint"):
            return p[0]
        if k == "getrandbits":
            return 1 << p[0]
        if k == "mt_rand" and p:
            return p[1] - p[0] + 1
        if k == "mt_rand":
            return 1 << 31
        return 1 << self.word_bits

    def low(self) -> int:
        return self.params[0] if self.kind == "mt_rand" and self.params else 0

    def reveal(self, value: int) -> Reveal:
        """The known bits of each word an accepted draw of ``value`` consumed."""
        w = self.word_bits
        k, p = self.kind, self.params
        v = value - self.low()
        n = self.n_values()
        if n is not None and not 0 <= v < n:
            raise ValueError(f"draw value {value} outside the range of {self.text}")
        if k == "word":
            return [((1 << w) - 1, v)]
        if k == "getrandbits":
            out = []
            for i in range(self.words_per_draw):
                rem = min(32, p[0] - 32 * i)
                out.append(top_bits(rem, 32, (v >> (32 * i)) & ((1 << rem) - 1)))
            return out
        if k == "mod":
            j = trailing_zeros(p[0]) if p[0] < (1 << w) else w
            return [((1 << j) - 1, v & ((1 << j) - 1))]
        if k == "floor":
            return [self._shifted(common_prefix(*floor_interval(v, p[0], self.double_bits),
                                                self.double_bits), w - self.double_bits)]
        if k == "randrange":
            return [top_bits(p[0].bit_length(), 32, v)]
        if k == "randint":
            b = (p[0] - 1).bit_length()
            return [((1 << b) - 1, v)]
        if k == "nextint":
            r_shift = w - 31
            if p[0] & (p[0] - 1) == 0:
                b = trailing_zeros(p[0])
                return [self._shifted(top_bits(b, 31, v), r_shift)]
            j = trailing_zeros(p[0])
            return [self._shifted(((1 << j) - 1, v & ((1 << j) - 1)), r_shift)]
        if k == "mt_rand" and not p:
            return [top_bits(31, 32, v)]
        # mt_rand:MIN:MAX
        span = p[1] - p[0] + 1
        if self.legacy_range:
            return [self._shifted(common_prefix(*floor_interval(v, span, 31), 31), 1)]
        if span == 1 << 32:
            return [(M32, v)]
        j = trailing_zeros(span)
        return [((1 << j) - 1, v & ((1 << j) - 1))]

    @staticmethod
    def _shifted(mv: tuple[int, int], s: int) -> tuple[int, int]:
        return mv[0] << s, mv[1] << s

    # -- the draw function itself, on concrete words

    def accepts(self, word: int) -> bool:
        """Whether the draw keeps this word (rejection draws only)."""
        k, p = self.kind, self.params
        if k == "randrange":
            return (word >> (32 - p[0].bit_length())) < p[0]
        if k == "randint":
            mask = (1 << (p[0] - 1).bit_length()) - 1
            return (word & mask) <= p[0] - 1
        if k == "nextint":
            r = (word >> (self.word_bits - 31)) & 0x7FFFFFFF
            return r - r % p[0] + p[0] - 1 < (1 << 31)
        if k == "mt_rand" and p and not self.legacy_range:
            span = p[1] - p[0] + 1
            if span & (span - 1) == 0:
                return True
            return word <= M32 - (M32 % span) - 1
        return True

    def simulate(self, words: Iterator[int]) -> tuple[int, int]:
        """``(draw value, words rejected)`` for the next draw taken from ``words``."""
        k, p = self.kind, self.params
        w = self.word_bits
        rejected = 0
        if k == "getrandbits":
            value = 0
            for i in range(self.words_per_draw):
                rem = min(32, p[0] - 32 * i)
                value |= (next(words) >> (32 - rem)) << (32 * i)
            return value, 0
        word = next(words)
        while not self.accepts(word):
            rejected += 1
            word = next(words)
        if k == "word":
            return word, 0
        if k == "mod":
            return word % p[0], 0
        if k == "floor":
            return _floor_of(word >> (w - self.double_bits), p[0], self.double_bits), 0
        if k == "randrange":
            return word >> (32 - p[0].bit_length()), rejected
        if k == "randint":
            return word & ((1 << (p[0] - 1).bit_length()) - 1), rejected
        if k == "nextint":
            r = (word >> (w - 31)) & 0x7FFFFFFF
            if p[0] & (p[0] - 1) == 0:
                return (p[0] * r) >> 31, 0
            return r % p[0], rejected
        if not p:  # mt_rand()
            return word >> 1, 0
        span = p[1] - p[0] + 1
        if self.legacy_range:
            return p[0] + _floor_of(word >> 1, span, 31), 0
        return p[0] + word % span, rejected


LINEAR_DRAWS = {
    "word": "word - the whole output word",
    "getrandbits": "getrandbits:K - CPython random.getrandbits(K) (top K bits; K > 32: words)",
    "mod": "mod:M - word % M (reveals the low j bits where 2^j divides M)",
    "floor": "floor:N - Math.floor(Math.random() * N) (V8)",
    "randrange": "randrange:M - CPython random.randrange(M) (rejection)",
    "randint": "randint:M - numpy RandomState.randint(0, M) (masked rejection)",
    "nextint": "nextint:B - Java-style nextInt(B) on the top 31 bits",
    "mt_rand": "mt_rand (PHP mt_rand(): word >> 1) or mt_rand:MIN:MAX",
}


def linear_draw_usage() -> str:
    return "; ".join(LINEAR_DRAWS.values())


def parse_linear_draw(text: str, model: LinearModel, legacy_range: bool = False) -> LinearDraw:
    """Parse ``NAME[:PARAM...]`` for ``model``; a clear error for what the route cannot use."""
    name, *raw = text.strip().split(":")
    if name not in LINEAR_DRAWS:
        raise ValueError(f"the linear route has no draw function {name!r}; it handles: "
                         f"{linear_draw_usage()}")
    try:
        params = tuple(int(x) for x in raw)
    except ValueError:
        raise ValueError(f"draw {text!r}: parameters must be integers") from None
    arity = {"word": (0,), "mt_rand": (0, 2)}.get(name, (1,))
    if len(params) not in arity:
        raise ValueError(f"draw {text!r}: expected {LINEAR_DRAWS[name]}")
    w = model.word_bits
    draw = LinearDraw(name, params, w, model.double_bits, legacy_range)
    why = _unusable(draw, w, model)
    if why:
        raise ValueError(f"draw {text!r} with {model.name}: {why}")
    # every reveal must map to linear bits of the model's word
    model.linear_bits(*draw.reveal(draw.low())[0])
    return draw


def _unusable(d: LinearDraw, w: int, model: LinearModel) -> str | None:
    k, p = d.kind, d.params
    if any(x < 0 for x in p):
        return "parameters must not be negative"
    if k == "floor":
        if model.double_bits is None:
            return "floor:N needs a generator whose doubles come from one word (V8)"
        return None if p[0] >= 1 else "N must be >= 1"
    if model.double_bits is not None and k != "word":
        return "this generator's draws are doubles: use floor:N (or word)"
    if k == "getrandbits":
        return None if w == 32 and p[0] >= 1 else "getrandbits:K needs 32-bit words, K >= 1"
    if k == "mod":
        if not 1 <= p[0] <= (1 << w):
            return f"M must be in [1, 2^{w}]"
        if p[0] % 2:
            return "an odd M reveals no bit linearly (word % M mixes every bit)"
        return None
    if k in ("randrange", "randint"):
        if w != 32 or not 2 <= p[0] <= M32:
            return "needs 32-bit words and 2 <= M < 2^32"
        return None
    if k == "nextint":
        if not 2 <= p[0] < (1 << 31) or w < 31:
            return "needs BOUND in [2, 2^31) and words of at least 31 bits"
        if p[0] % 2 and p[0] & (p[0] - 1):
            return "an odd BOUND reveals no bit linearly"
        return None
    if k == "mt_rand":
        if w != 32:
            return "mt_rand needs 32-bit words"
        if p and not 0 <= p[0] < p[1] < (1 << 32):
            return "need 0 <= MIN < MAX < 2^32"
        if p and not d.legacy_range and (p[1] - p[0] + 1) % 2:
            return "an odd range size reveals no bit linearly (word % span)"
    return None


def check_linear(model: LinearModel, draw: LinearDraw) -> None:
    """Raise :class:`NotLinear` where the draw's bits are not linear in ``model``'s state."""
    model.linear_bits(*draw.reveal(draw.low())[0])



