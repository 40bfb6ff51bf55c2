"""The null model: how many survivors a scan yields when no candidate is the true one.

Under the null, a candidate's words are independent uniform ``output_bits``-bit integers. A draw
function maps them to draw values with an exact distribution (``mod`` is biased when the word
count is not a multiple of M; legacy PHP scaling is biased; rejection samplers are uniform). A
candidate survives when its mismatches stay within ``max_misses``; the count of mismatches is a
Poisson-binomial variable, computed exactly. Survivor counts are compared with the expected
count by a Poisson tail.
"""

from __future__ import annotations

import math

import numpy as np

from gpu_executors.prng.bitgen.base import Generator
from gpu_executors.prng.draws import DrawSpec


def value_probabilities(gen: Generator, spec: DrawSpec, values: np.ndarray) -> np.ndarray:
    """P(draw == v) for each v under uniform words, exactly (float64); each draw kind knows its
    own distribution (``DrawKind.probabilities``), this adds the zeros outside its range."""
    v = np.asarray(values, dtype=np.int64) - spec.low
    inside = (v >= 0) & (v < spec.n_values)
    p = np.zeros(v.shape, dtype=np.float64)
    p[inside] = spec.draw_kind.probabilities(gen, spec.params, v[inside])
    return p


def pass_probability(match_probs: np.ndarray, max_misses: int) -> float:
    """P(at most ``max_misses`` mismatches) for independent draws with these match probabilities."""
    probs = np.asarray(match_probs, dtype=np.float64)
    k = max_misses
    # dist[j] = P(j misses so far), truncated at k (mass beyond k is dropped: it fails).
    dist = np.zeros(k + 1)
    dist[0] = 1.0
    for p in probs:
        shifted = np.empty_like(dist)
        shifted[0] = 0.0
        shifted[1:] = dist[:-1]
        dist = dist * p + shifted * (1.0 - p)
    return float(dist.sum())


def draw_match_probabilities(
    gen: Generator, spec: DrawSpec, draws: np.ndarray, gap_choices: int = 1
) -> np.ndarray:
    """Per-draw probability that a random candidate matches it.

    With variable gaps every draw after the first may match at any of ``gap_choices`` positions.
    """
    p = value_probabilities(gen, spec, draws)
    if gap_choices > 1 and p.size > 1:
        p = p.copy()
        p[1:] = 1.0 - (1.0 - p[1:]) ** gap_choices
    return p


def null_expected(
    gen: Generator,
    spec: DrawSpec,
    draws: np.ndarray,
    candidates: int,
    max_misses: int,
    variable_gap_choices: int = 1,
) -> float:
    """Expected number of false survivors among ``candidates`` under the null."""
    probs = draw_match_probabilities(gen, spec, draws, variable_gap_choices)
    return candidates * pass_probability(probs, max_misses)


def survivor_p_value(observed: int, expected: float) -> float:
    """P(X >= observed) for X ~ Poisson(expected): small means more survivors than chance.

    That tail is the regularised lower incomplete gamma P(observed, expected), which is what
    ``scipy.stats.poisson.sf(observed - 1, expected)`` computes, without importing scipy.stats
    (a second of start-up on the crack path)."""
    if observed <= 0:
        return 1.0
    if expected <= 0:
        return 0.0
    from scipy.special import gammainc  # imported here: most processes never need it

    return float(gammainc(observed, expected))


def evidence(observed: int, expected: float) -> float:
    """-log10 of the survivor p-value, capped for a zero p-value: higher beats chance more."""
    p = survivor_p_value(observed, expected)
    return 320.0 if p <= 0 else -math.log10(p)

