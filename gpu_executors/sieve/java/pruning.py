"""Pruned radii for the Java routes' lattice walks, fitted to the true state's distribution.

Both walks (the residue route's per guess, the power-of-two lattice route's) enumerate every
lattice point in the ball around a box of side ``K`` holding the true point. The ball is exact
but wide: the true point's offsets from the box centre are the draws' hidden parts, uniform under
the model that the generator's words are, so its projections past each Gram-Schmidt level are
much shorter than the ball's radius almost always. A radius per level at a small tail of that
distribution cuts the walk by orders of magnitude for a stated chance of missing the point.
"""

from __future__ import annotations

import math

import numpy as np

PRUNING_SAMPLES = 200_000  # Monte Carlo offsets per pruned lattice (fit, then measure)
PLANNING_SAMPLES = 20_000  # the same, to compare dimensions before the chosen one is fitted


def ball_log2_volume(dim: int, radius: float) -> float:
    """log2 of the volume of a ``dim``-ball of this radius."""
    return (
        (dim / 2) * math.log2(math.pi)
        - math.lgamma(dim / 2 + 1) / math.log(2)
        + dim * math.log2(radius)
    )


def ball_radii2(dim: int, kbox: int) -> np.ndarray:
    """The exact bound at every level: the ball around the box ``[0, K)^dim``."""
    return np.full(dim, dim * (kbox / 2.0) ** 2 * (1 + 1e-9) + 1.0)


def _partial_norms(
    bstar: np.ndarray, bn: np.ndarray, kbox: int, samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Squared norms of uniform box offsets projected past each level, ``(samples, dim)``."""
    dim = bn.shape[0]
    u = rng.uniform(-kbox / 2.0, kbox / 2.0, size=(samples, dim))
    contrib = (u @ bstar.T) ** 2 / bn
    return np.cumsum(contrib[:, ::-1], axis=1)[:, ::-1]


def pruned_radii2(
    bstar: np.ndarray,
    bn: np.ndarray,
    kbox: int,
    miss_probability: float,
    seed: int,
    samples: int = PRUNING_SAMPLES,
) -> tuple[np.ndarray, float]:
    """Squared radius per level that keeps the true state with probability ``1 - miss``, and the
    miss rate measured on an independent sample.

    The true state's offsets from the box centre are modelled as independent uniforms over
    ``[-K/2, K/2]`` (the draws' words are the generator's output). Their projections past each
    Gram-Schmidt level are sampled (``PRUNING_SAMPLES``, a fixed seed per lattice so a basis is
    reproducible); every level gets the same tail of its own distribution, the widest that the
    sample's joint miss (any level exceeded) keeps within ``miss_probability``: a sample is
    missed at tail rank ``r`` when its rank in some level's column passes ``r``, so the rank is a
    quantile of each sample's highest rank. An independent sample then measures the miss rate
    the walk really has under the model. Per-level Chernoff bounds with a union over the levels
    (the first version) are proven but loose: at 1% they set radii ~1.6x wider than these, and
    30 x nextInt(3) walked ~45x more nodes.
    """
    dim = bn.shape[0]
    rng = np.random.default_rng(seed)
    fit = _partial_norms(bstar, bn, kbox, samples, rng)
    order = np.argsort(fit, axis=0)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(samples)[:, None], axis=0)
    highest = np.sort(ranks.max(axis=1))
    at = math.ceil(samples * (1.0 - miss_probability)) - 1
    row = np.take_along_axis(fit, order[highest[max(at, 0)]][None, :], axis=0)[0]
    radii = np.minimum(ball_radii2(dim, kbox), row * (1 + 1e-9))
    check = _partial_norms(bstar, bn, kbox, samples, rng)
    return radii, float(np.mean((check > radii).any(axis=1)))


def level_radii2(
    bstar: np.ndarray,
    bn: np.ndarray,
    kbox: int,
    miss_probability: float,
    seed: int,
    samples: int = PRUNING_SAMPLES,
) -> tuple[np.ndarray, float]:
    """The radii a walk uses and their measured miss rate: the exact ball for 0, else pruned."""
    if miss_probability > 0.0:
        return pruned_radii2(bstar, bn, kbox, miss_probability, seed, samples)
    return ball_radii2(bn.shape[0], kbox), 0.0


def gram_schmidt(
    red: list[list[int]], d: list[int], lam: list[list[int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``bstar`` (rows), ``|b*_i|^2`` and ``mu`` as floats, from integral LLL's output."""
    dim = len(red)
    bn = np.array([d[i + 1] / d[i] for i in range(dim)])
    mu = np.zeros((dim, dim))
    for i in range(dim):
        for k in range(i):
            mu[i, k] = lam[i][k] / d[k + 1]
    bstar = np.array(red, dtype=np.float64)
    for i in range(dim):
        for k in range(i):
            bstar[i] -= mu[i, k] * bstar[k]
    return bstar, bn, mu


def log2_nodes(radii2: np.ndarray, bn: np.ndarray) -> float:
    """Expected enumeration nodes, log2: at each level the ball of that level's radius over the
    projected lattice's volume (the Gaussian heuristic; an upper estimate when pruned)."""
    dim = bn.shape[0]
    levels = [
        ball_log2_volume(lv, math.sqrt(radii2[dim - lv]))
        - 0.5 * float(np.sum(np.log2(bn[dim - lv :])))
        for lv in range(1, dim + 1)
    ]
    return math.log2(sum(2.0**x for x in levels) + 1.0)
