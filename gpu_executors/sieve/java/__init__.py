"""Java's 48-bit LCG: recover a seed from ``nextInt(bound)`` draws without a flat 2^48 scan.

``java.util.Random`` is an LCG modulo 2^48 whose ``nextInt(bound)`` sees ``r = state >> 17``
(31 bits) of the state *after* each step. Four routes, picked automatically by estimated cost:

- **lifting** (bound not a power of two, ``bound = 2^k * odd``): ``r % bound`` keeps ``r``'s low
  ``k`` bits, i.e. state bits ``17 .. 17+k-1``, and the low ``17+k`` bits of an LCG modulo 2^48
  evolve on their own. Stage 1 enumerates the 2^17 unknown low bits of the first draw's state
  (its bits 17.. are known from draw 0) and keeps the patterns consistent with every draw's low
  ``k`` bits. Stage 2 completes each survivor: draw 0 fixes ``r0 = draw0 + j*bound``, so only
  ``2^31/bound`` top halves exist per survivor; a parallel numba kernel checks them with early
  exit. With ``k = 0`` (odd bounds) stage 1 keeps all 2^17 patterns and the route degenerates to
  ``2^48/bound`` checks, which is still cheap for large odd bounds.
- **residue** (bound not a power of two, ``bound = 2^k * m``, ``m`` odd > 1): guess draw 0's low
  17 state bits (the lifting survivors for even bounds); each guess makes every draw's word
  exact, and ``word = draw + bound*k`` becomes a box-constrained lattice problem in the ``k``
  whose basis never depends on the guess: LLL once, a numba Fincke-Pohst walk per guess. It
  makes small odd parts possible (20 x nextInt(7) in under a second; 3 stays hours).
- **lattice** (bound = 2^b): each draw is the top ``b`` bits of the state; the unknown low bits
  satisfy ``x_i = a_i*x_0 + d_i mod 2^48`` with all ``x_i`` in ``[0, 2^(48-b))``, the classic
  truncated-LCG lattice. Exact integer LLL, then Fincke-Pohst enumeration of every lattice point
  in the ball around the box centre, so *all* solutions in the box are listed, not just Babai's.
- **flat**: ``cpu_scan`` over a user-given seed range (bound 1, or a range smaller than the
  smart route's cost).

Rejection: the smart routes model every draw as one word. ``nextInt`` re-draws when
``r >= 2^31 - 2^31 % bound``; a true seed whose draws hit a rejection is therefore *not* found
(probability ``n * (2^31 % bound) / 2^31``, e.g. 2e-6 for 8 draws of 1000). Every reported seed
is re-checked with the real drawer (``generate_draws``), so a reported seed always reproduces the
draws. Power-of-two bounds never reject.

States do not depend on the offset, so an offset range maps each state to one seed per offset.
When the draws cannot pin the seed, a capped, verified sample is listed with the expected count
of remaining seeds (``recover.expected_remaining``) instead of a refusal.

Modules: ``lcg`` (the LCG's constants, jumps, states to seeds), ``lifting``, ``residue`` and
``lattice`` (the smart routes), ``recover`` (``recover_java_seeds``: route choice, flat fallback,
checks).
"""
