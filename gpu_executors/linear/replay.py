"""A recovered state as bytes, and the draws it gives: what a survivor pool row of the linear
route holds and how the ranking and the checks regenerate its draws.

A recovered state is the packed unknowns of one candidate model (``linear_models(generator)
[model_index]``) at draw ``first_draw`` of the history: draws before it cannot be regenerated
(the solve restarted after words hidden there), and are given as ``UNKNOWN``, which matches no
draw.
"""

from __future__ import annotations

import numpy as np

from gpu_executors.linear.registry import legacy_range, linear_models
from gpu_executors.linear.reveal import LinearDraw, parse_linear_draw

UNKNOWN = -1  # a draw before the recovered state's first draw


def state_bytes(bits: np.ndarray) -> bytes:
    """The packed unknowns as little-endian bytes (what the pool stores)."""
    return np.ascontiguousarray(bits, dtype="<u8").tobytes()


def state_bits(data: bytes, generator: str, model_index: int) -> np.ndarray:
    """The packed unknowns back from ``state_bytes``, checked against the model's width."""
    model = _model(generator, model_index)
    words = (model.n_unknowns + 63) // 64
    if len(data) != 8 * words:
        raise ValueError(f"{generator}: a recovered state holds {8 * words} bytes, got "
                         f"{len(data)}")
    return np.frombuffer(data, dtype="<u8").astype(np.uint64)


def _model(generator: str, model_index: int):
    models = linear_models(generator)
    if not 0 <= model_index < len(models):
        raise ValueError(f"{generator} has {len(models)} linear model(s); no index {model_index}")
    return models[model_index]


def linear_draw(generator: str, draw: str) -> LinearDraw:
    """``draw`` as the linear route reads it for ``generator`` (a clear error otherwise)."""
    return parse_linear_draw(draw, linear_models(generator)[0], legacy_range(generator))


def draw_range(generator: str, draw: str) -> tuple[int, int]:
    """``(low, n_values)`` of ``draw`` as the linear route reads it for ``generator`` (its
    draw functions include ``floor:N``, which the seed scans' ``parse_draw`` does not)."""
    how = linear_draw(generator, draw)
    n = how.n_values()
    if n is None:
        raise ValueError(f"{draw} has no finite range")
    return how.low(), n


def replay_draws(generator: str, draw: str, model_index: int, data: bytes, first_draw: int,
                 n: int) -> np.ndarray:
    """Draws ``0..n-1`` of the history the state ``data`` was recovered from, int64."""
    if n < 0 or first_draw < 0:
        raise ValueError(f"need n >= 0 and first_draw >= 0, got {n}, {first_draw}")
    model = _model(generator, model_index)
    how = linear_draw(generator, draw)
    words = model.words(state_bits(data, generator, model_index))
    out = np.full(n, UNKNOWN, dtype=np.int64)
    for i in range(first_draw, n):
        out[i] = how.simulate(words)[0]
    return out
