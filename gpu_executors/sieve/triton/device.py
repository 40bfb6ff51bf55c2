"""Device side of the GPU executor: the generators and draw functions, in Triton.

Each is the registry's (``gpu_executors.prng``) bit for bit, with all arithmetic in
``tl.uint64``/``tl.uint32``, which wrap like numba's ``uint64``. States of up to four words
step through ``seed4``/``step4`` (the variant picked by constexpr names, see
``routing.STEPPED``; one-word states through ``seed_state``/``step``, with ``back``, the inverse
step of state scans);
MT19937 is computed lazily by the kernel from ``mt_partial``/``mt_temper``. ``draw_value``
maps one word to a draw as ``draws.make_drawer`` does, flagging words a rejection draw refuses.
"""

from __future__ import annotations

from typing import Any

from gpu_executors.sieve.triton.lazy import jit_later

tl: Any = None  # triton.language, bound by lazy.jit_marked()

# --- generators


@jit_later
def mod_mersenne31(x):
    """``x % (2^31 - 1)`` for ``x < 2^63`` by two folds (2^31 == 1): no 64-bit division."""
    t = (x & 0x7FFFFFFF) + (x >> 31)
    t = (t & 0x7FFFFFFF) + (t >> 31)
    return tl.where(t >= 0x7FFFFFFF, t - 0x7FFFFFFF, t)


@jit_later
def seed_state(seed, SEEDING: tl.constexpr):
    """The registry's ``seed(seed, state)`` for one-word states; ``seed`` is uint64."""
    if SEEDING == "mask48":
        s = seed & 0xFFFFFFFFFFFF
    elif SEEDING == "java_scramble":
        s = (seed ^ 0x5DEECE66D) & 0xFFFFFFFFFFFF
    elif SEEDING == "mask32":
        s = seed & 0xFFFFFFFF
    elif SEEDING == "minstd":
        s = mod_mersenne31(seed)
        s = tl.where(s == 0, s + 1, s)
    elif SEEDING == "pcg32":
        # pcg32_srandom_r(seed, 721347520444481703): (INC + seed) * MULT + INC, mod 2^64
        s = (seed + 1442695040888963407) * 6364136223846793005 + 1442695040888963407
    else:  # "identity"
        s = seed
    return s


@jit_later
def step(s, STEP: tl.constexpr):
    """The registry's ``next``: returns (new state, output word), both uint64."""
    if STEP == "java48":
        s = (s * 0x5DEECE66D + 0xB) & 0xFFFFFFFFFFFF
        w = s >> 16
    elif STEP == "lcg32":
        s = mod_mersenne31(s * 1103515245 + 12345)
        w = s
    elif STEP == "minstd":
        s = mod_mersenne31(s * 48271)
        w = s
    elif STEP == "msvc":
        x = s.to(tl.uint32) * 214013 + 2531011  # wraps mod 2^32
        s = x.to(tl.uint64)
        w = (s >> 16) & 0x7FFF
    elif STEP == "xorshift32":
        x = s.to(tl.uint32)
        x ^= x << 13
        x ^= x >> 17
        x ^= x << 5
        s = x.to(tl.uint64)
        w = s
    elif STEP == "xorshift64star":
        s ^= s >> 12
        s ^= s << 25
        s ^= s >> 27
        w = s * 0x2545F4914F6CDD1D
    elif STEP == "xorshift64mul":
        s ^= s >> 12
        s ^= s << 25
        s ^= s >> 27
        s = s * 0x2545F4914F6CDD1D
        w = s
    else:  # "pcg32": XSH-RR output of the old state
        old = s
        s = old * 6364136223846793005 + 1442695040888963407
        xs = ((((old >> 18) ^ old) >> 27) & 0xFFFFFFFF).to(tl.uint32)
        rot = (old >> 59).to(tl.uint32)
        w = ((xs >> rot) | (xs << ((32 - rot) & 31))).to(tl.uint64)
    return s, w


@jit_later
def rotl64(x, K: tl.constexpr):
    return (x << K) | (x >> (64 - K))


@jit_later
def splitmix64(x):
    """(next state, output) of splitmix64 (``xoshiro._splitmix64``)."""
    x = x + 0x9E3779B97F4A7C15
    z = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return x, z ^ (z >> 31)


@jit_later
def philox_block(c0, c1, c2, c3, k0, k1):
    """Random123's philox4x32-10 on one counter block (``philox.philox4x32_10``)."""
    for _ in tl.static_range(10):
        p0 = c0 * 0xD2511F53
        p1 = c2 * 0xCD9E8D57
        c0, c1, c2, c3 = (
            (p1 >> 32) ^ c1 ^ k0,
            p1 & 0xFFFFFFFF,
            (p0 >> 32) ^ c3 ^ k1,
            p0 & 0xFFFFFFFF,
        )
        k0 = (k0 + 0x9E3779B9) & 0xFFFFFFFF
        k1 = (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return c0, c1, c2, c3


@jit_later
def ss_hashmix(value, hc):
    """SeedSequence's hashmix: (mixed value, next hash constant) (``seed_sequence``)."""
    value = (value ^ hc) & 0xFFFFFFFF
    hc = (hc * 0x931E8875) & 0xFFFFFFFF
    value = (value * hc) & 0xFFFFFFFF
    return value ^ (value >> 16), hc


@jit_later
def ss_mix(x, y):
    r = (x * 0xCA01F9DD - y * 0x4973F715) & 0xFFFFFFFF
    return r ^ (r >> 16)


@jit_later
def ss_output(p, h):
    """One generate_state word from pool word ``p`` and hash ``h``: (word, next hash)."""
    v = p ^ h
    h = (h * 0x58F38DED) & 0xFFFFFFFF
    v = (v * h) & 0xFFFFFFFF
    return v ^ (v >> 16), h


@jit_later
def seed_sequence_sfc64(seed):
    """numpy's SFC64(seed): SeedSequence(seed).generate_state(6, uint32) as three 64-bit words,
    counter 1, then 12 rounds (``sfc._sfc64_seed``). The entropy is (seed & M32, seed >> 32),
    whose second word is 0 exactly when numpy's entropy has one word, so one path serves all."""
    z = seed & 0
    hc = z + 0x43B0D7E5
    p0, hc = ss_hashmix(seed & 0xFFFFFFFF, hc)
    p1, hc = ss_hashmix(seed >> 32, hc)
    p2, hc = ss_hashmix(z, hc)
    p3, hc = ss_hashmix(z, hc)
    # Every pool word mixed into every other, sources in order (walked out by hand: the pool
    # is four registers, not an indexable array).
    m, hc = ss_hashmix(p0, hc)
    p1 = ss_mix(p1, m)
    m, hc = ss_hashmix(p0, hc)
    p2 = ss_mix(p2, m)
    m, hc = ss_hashmix(p0, hc)
    p3 = ss_mix(p3, m)
    m, hc = ss_hashmix(p1, hc)
    p0 = ss_mix(p0, m)
    m, hc = ss_hashmix(p1, hc)
    p2 = ss_mix(p2, m)
    m, hc = ss_hashmix(p1, hc)
    p3 = ss_mix(p3, m)
    m, hc = ss_hashmix(p2, hc)
    p0 = ss_mix(p0, m)
    m, hc = ss_hashmix(p2, hc)
    p1 = ss_mix(p1, m)
    m, hc = ss_hashmix(p2, hc)
    p3 = ss_mix(p3, m)
    m, hc = ss_hashmix(p3, hc)
    p0 = ss_mix(p0, m)
    m, hc = ss_hashmix(p3, hc)
    p1 = ss_mix(p1, m)
    m, hc = ss_hashmix(p3, hc)
    p2 = ss_mix(p2, m)
    h = z + 0x8B51F9DD
    w0, h = ss_output(p0, h)
    w1, h = ss_output(p1, h)
    w2, h = ss_output(p2, h)
    w3, h = ss_output(p3, h)
    w4, h = ss_output(p0, h)
    w5, h = ss_output(p1, h)
    s0 = w0 | (w1 << 32)
    s1 = w2 | (w3 << 32)
    s2 = w4 | (w5 << 32)
    s3 = z + 1
    for _ in tl.static_range(12):
        s0, s1, s2, s3, _w = step4(s0, s1, s2, s3, "sfc64")
    return s0, s1, s2, s3


@jit_later
def seed4(seed, SEEDING: tl.constexpr):
    """The registry's seeding as four uint64 words; one-word states use the first.

    Philox keeps (key, index of the next word): its word n is word n % 4 of the block of
    counter n // 4, recomputed per word rather than buffered (registers are the scarce part).
    """
    z = seed & 0
    s1 = z
    s2 = z
    s3 = z
    if SEEDING == "xorshift128":
        s0 = seed & 0xFFFFFFFF
        s1 = z + 362436069
        s2 = z + 521288629
        s3 = z + 88675123
    elif SEEDING == "splitmix64":  # xoshiro256pp: four splitmix64 outputs
        x, s0 = splitmix64(seed)
        x, s1 = splitmix64(x)
        x, s2 = splitmix64(x)
        x, s3 = splitmix64(x)
    elif SEEDING == "fill3":  # the original's xoshiro256pp: s0 = seed, then FILL1..3
        s0 = seed
        s1 = z + 0x9E3779B97F4A7C15
        s2 = z + 0x6A09E667F3BCC908
        s3 = z + 0xBB67AE8584CAA73B
    elif SEEDING == "sfc_fill":  # the original's sfc64: a = seed, b = FILL1, c = FILL2, w = 1
        s0 = seed
        s1 = z + 0x9E3779B97F4A7C15
        s2 = z + 0x6A09E667F3BCC908
        s3 = z + 1
    elif SEEDING == "philox":  # key = seed, next word 0
        s0 = seed
    elif SEEDING == "seed_sequence_sfc64":
        s0, s1, s2, s3 = seed_sequence_sfc64(seed)
    else:
        s0 = seed_state(seed, SEEDING)
    return s0, s1, s2, s3


@jit_later
def step4(s0, s1, s2, s3, STEP: tl.constexpr):
    """``step`` over four-word states: returns (s0, s1, s2, s3, output word)."""
    if STEP == "xorshift128":
        t = (s0 ^ (s0 << 11)) & 0xFFFFFFFF
        w = s3 ^ (s3 >> 19) ^ (t ^ (t >> 8))
        s0, s1, s2, s3 = s1, s2, s3, w
    elif STEP == "xoshiro256pp":
        w = rotl64(s0 + s3, 23) + s0
        t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl64(s3, 45)
    elif STEP == "sfc64":
        w = s0 + s1 + s3
        s0, s1, s2, s3 = s1 ^ (s1 >> 11), s2 + (s2 << 3), rotl64(s2, 24) + w, s3 + 1
    elif STEP == "philox":
        n = s1 >> 2
        z = n & 0
        c0, c1, c2, c3 = philox_block(n & 0xFFFFFFFF, n >> 32, z, z, s0 & 0xFFFFFFFF, s0 >> 32)
        j = s1 & 3
        w = tl.where(j == 0, c0, tl.where(j == 1, c1, tl.where(j == 2, c2, c3)))
        s1 = s1 + 1
    elif STEP == "philox_original":  # word i is lane 0 of the block of counter (i mod 2^32, 0)
        z = s1 & 0
        w, _c1, _c2, _c3 = philox_block(s1 & 0xFFFFFFFF, z, z, z, s0 & 0xFFFFFFFF, s0 >> 32)
        s1 = s1 + 1
    else:
        s0, w = step(s0, STEP)
    return s0, s1, s2, s3, w


@jit_later
def unshift_right(y, SHIFT: tl.constexpr, BITS: tl.constexpr):
    """Invert ``y = x ^ (x >> SHIFT)`` on a BITS-wide word (``base.unxorshift_right``)."""
    x = y
    for _ in tl.static_range((BITS - 1) // SHIFT):
        x = y ^ (x >> SHIFT)
    return x


@jit_later
def unshift_left(y, SHIFT: tl.constexpr, MASK: tl.constexpr):
    """Invert ``y = (x ^ (x << SHIFT)) & MASK`` (``base.unxorshift_left``)."""
    x = y
    for _ in tl.static_range(63 // SHIFT):
        x = (y ^ (x << SHIFT)) & MASK
    return x


@jit_later
def xorshift64_unshifts(x):
    x = unshift_right(x, 27, 64)
    x = unshift_left(x, 25, 0xFFFFFFFFFFFFFFFF)
    return unshift_right(x, 12, 64)


@jit_later
def back(s, STEP: tl.constexpr):
    """The registry's ``prev``: the state one ``step`` earlier (the inverse step of state scans).

    The multiplicative inverses are the ``*_A_INV``/``*_MULT_INV`` constants of ``bitgen``
    (``tests/.../test_triton_modes`` checks them against ``pow(a, -1, m)``).
    """
    if STEP == "java48":
        s = ((s - 0xB) * 0xDFE05BCB1365) & 0xFFFFFFFFFFFF
    elif STEP == "lcg32":
        s = mod_mersenne31(mod_mersenne31(s + 0x7FFFFFFF - 12345) * 0x7D760645)
    elif STEP == "minstd":
        s = mod_mersenne31(s * 0x713CEE3F)
    elif STEP == "msvc":
        s = ((s - 2531011) * 0xB9B33155) & 0xFFFFFFFF
    elif STEP == "xorshift32":
        x = unshift_left(s, 5, 0xFFFFFFFF)
        x = unshift_right(x, 17, 32)
        s = unshift_left(x, 13, 0xFFFFFFFF)
    elif STEP == "xorshift64star":
        s = xorshift64_unshifts(s)
    elif STEP == "xorshift64mul":
        s = xorshift64_unshifts(s * 0x59071D96D81ECD35)
    else:  # "pcg32"
        s = (s - 1442695040888963407) * 0xC097EF87329E28A5
    return s


@jit_later
def mt_partial(a, b, LEGACY: tl.constexpr):
    """The part of twisted word k known from mt[k] = a and mt[k+1] = b (uint32 in, uint64 out)."""
    y = ((a >> 31) << 31) | (b & 0x7FFFFFFF)
    low = a & 1 if LEGACY else b & 1
    return (y >> 1).to(tl.uint64) ^ (low.to(tl.uint64) * 0x9908B0DF)


@jit_later
def mt_temper(y):
    """MT19937 tempering on a uint64 holding 32 bits (the masks keep it within 32 bits)."""
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y


@jit_later
def load_u32(ptr, mask):
    """A uint32 stored in int32 scratch, zero-extended to uint64 (not sign-extended)."""
    return tl.load(ptr, mask=mask, other=0).to(tl.uint32, bitcast=True).to(tl.uint64)


# --- draws


@jit_later
def draw_value(w, p0, p1, p2, DRAW: tl.constexpr, SHIFT: tl.constexpr, WORD32: tl.constexpr):
    """One word -> (draw value int64, rejected?) exactly as ``draws.make_drawer`` maps it.

    p0, p1, p2 are the host-side parameters of ``launch.draw_params`` (int64 scalars).
    """
    rej = w != w  # all False; the rejection draws overwrite it
    if DRAW == "mod":
        if WORD32:  # 32-bit remainder where words and M fit: far cheaper than 64-bit on GPUs
            v = (w.to(tl.uint32) % p0.to(tl.uint32)).to(tl.int64)
        else:
            v = (w % p0.to(tl.uint64)).to(tl.int64)
    elif DRAW == "nextint_pow2":
        r = ((w >> SHIFT) & 0x7FFFFFFF).to(tl.int64)
        v = (p0 * r) >> 31
    elif DRAW == "nextint":
        r = ((w >> SHIFT) & 0x7FFFFFFF).to(tl.uint32)
        bound = p0.to(tl.uint32)
        val = r % bound
        rej = (r - val) + (bound - 1) >= 0x80000000  # Java's `bits - val + (bound-1) < 0`
        v = val.to(tl.int64)
    elif DRAW == "randint_full":
        v = (w & 0xFFFFFFFF).to(tl.int64)
    elif DRAW == "randint":
        m = w & p1.to(tl.uint64)  # p1 = mask, p0 = M - 1
        rej = m > p0.to(tl.uint64)
        v = m.to(tl.int64)
    elif DRAW == "mt_rand_pow2":  # p0 = MIN, p1 = MAX - MIN + 1
        v = p0 + (w.to(tl.uint32) % p1.to(tl.uint32)).to(tl.int64)
    elif DRAW == "mt_rand":
        r = w.to(tl.uint32)
        rej = r > p2.to(tl.uint32)  # p2 = PHP's rejection limit
        v = p0 + (r % p1.to(tl.uint32)).to(tl.int64)
    elif DRAW == "randrange":  # CPython getrandbits(k) >> (32 - k), rejected while >= n
        r = (w & 0xFFFFFFFF) >> p1.to(tl.uint64)  # p0 = n, p1 = 32 - k
        rej = r >= p0.to(tl.uint64)
        v = r.to(tl.int64)
    else:  # "mt_rand_legacy": MIN + (long)(span * (n / 2^31)), n = word >> 1, in float64
        n = (w.to(tl.uint32) >> 1).to(tl.float64)
        v = p0 + (p1.to(tl.float64) * (n * 4.656612873077393e-10)).to(tl.int64)
    return v, rej


@jit_later
def draw_step(
    s0,
    s1,
    s2,
    s3,
    live,
    p0,
    p1,
    p2,
    STEP: tl.constexpr,
    DRAW: tl.constexpr,
    SHIFT: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
):
    """One draw from the state as ``draws.make_drawer`` takes it: (state after, value, unsure).

    A rejected word is retried exactly on ``live`` lanes (the lane takes the next word, as the
    CPU does); a lane still rejecting after RETRIES tries comes back unsure.
    """
    unsure = live != live  # all False
    if NO_WORD:  # randint:1 consumes no word
        v = (s0 & 0).to(tl.int64)
    else:
        s0, s1, s2, s3, w = step4(s0, s1, s2, s3, STEP)
        v, rej = draw_value(w, p0, p1, p2, DRAW, SHIFT, WORD32)
        if REJECT:
            retry = rej & live
            tries = 0
            while (tl.max(retry.to(tl.int32), axis=0) > 0) & (tries < RETRIES):
                t0, t1, t2, t3, w2 = step4(s0, s1, s2, s3, STEP)
                v2, rej2 = draw_value(w2, p0, p1, p2, DRAW, SHIFT, WORD32)
                s0 = tl.where(retry, t0, s0)
                s1 = tl.where(retry, t1, s1)
                s2 = tl.where(retry, t2, s2)
                s3 = tl.where(retry, t3, s3)
                v = tl.where(retry, v2, v)
                retry = retry & rej2
                tries += 1
            unsure = retry
    return s0, s1, s2, s3, v, unsure


@jit_later
def mt_draw(
    rows,
    pos,
    live,
    n_words,
    p0,
    p1,
    p2,
    DRAW: tl.constexpr,
    WORD32: tl.constexpr,
    REJECT: tl.constexpr,
    NO_WORD: tl.constexpr,
    RETRIES: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """``draw_step`` over lazy MT19937's scratch rows: the lane's state is its word position.

    A word past ``n_words`` (not computed) makes the lane unsure, as do RETRIES rejections.
    """
    unsure = live != live
    if NO_WORD:
        v = (pos * 0).to(tl.int64)
    else:
        known = pos < n_words
        w = load_u32(rows + pos * BLOCK, known)
        unsure = ~known
        pos += 1
        v, rej = draw_value(w, p0, p1, p2, DRAW, 1, WORD32)
        if REJECT:
            retry = rej & live & ~unsure
            tries = 0
            while (tl.max(retry.to(tl.int32), axis=0) > 0) & (tries < RETRIES):
                known = pos < n_words
                unsure = unsure | (retry & ~known)
                retry = retry & known
                w2 = load_u32(rows + pos * BLOCK, retry)
                v2, rej2 = draw_value(w2, p0, p1, p2, DRAW, 1, WORD32)
                pos = tl.where(retry, pos + 1, pos)
                v = tl.where(retry, v2, v)
                retry = retry & rej2
                tries += 1
            unsure = unsure | retry
    return pos, v, unsure


@jit_later
def skip(s0, s1, s2, s3, n, STEP: tl.constexpr):
    """``n`` words discarded (a runtime count, the same for every lane)."""
    for _ in range(n):
        s0, s1, s2, s3, _w = step4(s0, s1, s2, s3, STEP)
    return s0, s1, s2, s3
