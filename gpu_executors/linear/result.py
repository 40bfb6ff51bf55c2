"""What a linear crack found, as one typed record (the CLI prints it or dumps it as JSON)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LinearResult:
    """The recovered state and its checks.

    ``free_bits``: unknowns the draws leave free (``2**free_bits`` states are consistent);
    ``undetermined_bits``: how many of those change the predicted words (0 means every
    consistent state predicts the same draws). ``held_back`` draws were not used to solve and
    are replayed from the recovered state as a check, as are all the others.
    """

    generator: str
    draw: str
    solved: bool
    reason: str
    n_draws: int
    first_draw: int  # draws before this one were not used (a restart after hidden words)
    used_for_solve: int
    held_back: int
    held_back_matched: int
    matched: int
    unknowns: int
    rank: int
    free_bits: int
    undetermined_bits: int
    rejected_words: int
    state: dict | None = None
    predictions: list[int] = field(default_factory=list)
    earlier_words: list[int] | None = None
    earlier_draws: list[int] | None = None  # the draws those words gave (one-word draws)
    seed: int | None = None
    seed_offset: int | None = None  # words the generator produced between seeding and draw 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
