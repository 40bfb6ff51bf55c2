"""What the linear route needs of a generator: its output words as linear forms of unknown
state bits, and the same words computed from a concrete solution.

The unknowns are the state *at the first observed draw*, so no seeding is assumed. Subclasses
add what their family allows: the words before the first draw, the seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class NotLinear(ValueError):
    """A draw reveals bits that are not linear in this generator's state."""


class LinearModel:
    """One GF(2)-linear generator as the linear route sees it."""

    name: str
    n_unknowns: int
    word_bits: int  # width of the words draw functions see
    double_bits: int | None = None  # doubles made from the word's top bits (V8): their width
    notes: str = ""

    def symbolic(self) -> Iterator[np.ndarray]:
        """Each output word, in the order draws consume them, as a ``(word_bits, width)`` form."""
        raise NotImplementedError

    def words(self, x: np.ndarray) -> Iterator[int]:
        """The concrete output words when the state at the first draw is the packed bits ``x``."""
        raise NotImplementedError

    def linear_bits(self, mask: int, value: int) -> tuple[int, int]:
        """Known output-word bits (``mask``, ``value``) as known bits of the linear word.

        The identity for generators whose words are linear; a generator with a nonlinear output
        step (xorshift64*'s multiply) maps what it can and raises :class:`NotLinear` otherwise.
        """
        return mask, value

    def from_full_words(self, words: list[int]) -> np.ndarray | None:
        """The state straight from fully seen consecutive words, where that needs no
        elimination (MT19937: untemper 624 words), or None."""
        return None

    def constraints(self) -> np.ndarray | None:
        """Rows ``r`` with ``r @ x = 0`` for every reachable state (relations among the
        unknowns that hold whatever the draws), or None."""
        return None

    def state(self, x: np.ndarray) -> dict:
        """The state at the first draw, for the report."""
        raise NotImplementedError

    def prediction_assumes(self) -> str | None:
        """What predictions past the history assume of the process beyond the draws (V8's
        cache position), or None where the recovered state is all they need."""
        return None

    def earlier_words(self, x: np.ndarray, n: int) -> list[int] | None:
        """The ``n`` words before the first draw (nearest last), where an inverse step exists."""
        return None

    def seed(self, x: np.ndarray) -> tuple[int, int] | None:
        """``(seed, words consumed before the first draw)`` where the state reaches back to a
        recoverable seeding, else None."""
        return None
