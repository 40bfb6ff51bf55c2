"""Which generator made these draws? Scan every candidate (generator, draw) pair and correct.

Each pair's scan gives survivors against its own null (``null_model``); trying K pairs gives K
chances to be fooled, so each p-value is multiplied by K (Bonferroni: valid whatever the pairs'
dependence, which is strong here: mt19937 and php_mt_rand give the same words). A pair is named
only when its corrected p-value is below ``alpha``; pairs that cannot tell themselves apart (the
same draws for the surviving seed) are all named, best first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

from gpu_executors.prng.draws import check_compatible, parse_draw
from gpu_executors.prng.generators import GENERATORS, get_generator
from gpu_executors.prng.null_model import survivor_p_value
from gpu_executors.significance import FINDING_ALPHA

CORRECTION = "Bonferroni"


@dataclass(frozen=True)
class PairScan:
    """What one pair's scan found (``skipped`` says why a pair was not scanned)."""

    generator: str
    draw: str
    survivors: int = 0
    null_expected: float = 0.0
    candidates: int = 0
    seconds: float = 0.0
    skipped: str | None = None

    @property
    def p_value(self) -> float:
        return 1.0 if self.skipped else survivor_p_value(self.survivors, self.null_expected)


@dataclass(frozen=True)
class Identification:
    """Every pair tried, with its corrected p-value, best first."""

    scans: tuple[PairScan, ...]
    alpha: float = FINDING_ALPHA

    @property
    def tried(self) -> int:
        """K: the pairs actually scanned (skipped ones cost no chance)."""
        return sum(1 for s in self.scans if s.skipped is None)

    def p_adjusted(self, scan: PairScan) -> float:
        return min(1.0, scan.p_value * max(self.tried, 1))

    def ranked(self) -> list[PairScan]:
        return sorted(self.scans, key=lambda s: (s.skipped is not None, s.p_value, s.generator))

    @property
    def identified(self) -> list[PairScan]:
        """The pairs whose corrected p-value is below alpha, best first (empty: none)."""
        return [s for s in self.ranked() if not s.skipped and self.p_adjusted(s) < self.alpha]

    def verdict(self) -> str:
        named = self.identified
        head = f"{CORRECTION} over {self.tried} pairs, alpha {self.alpha}"
        if not named:
            return f"no pair beats chance ({head})"
        pairs = ", ".join(f"{s.generator} {s.draw}" for s in named)
        best = named[0]
        return f"{pairs} (corrected p = {self.p_adjusted(best):.3g}; {head})"

    def to_dict(self) -> dict:
        return {
            "correction": CORRECTION,
            "alpha": self.alpha,
            "tried": self.tried,
            "verdict": self.verdict(),
            "identified": [f"{s.generator} {s.draw}" for s in self.identified],
            "pairs": [
                {**asdict(s), "p_value": s.p_value, "p_adjusted": self.p_adjusted(s)}
                for s in self.ranked()
            ],
        }


def draws_for_modulus(modulus: int) -> list[str]:
    """Every draw function whose values are exactly [0, modulus)."""
    out = [f"mod:{modulus}", f"randint:{modulus}", f"randrange:{modulus}"]
    if modulus < 2**31:
        out.insert(1, f"nextint:{modulus}")
        out.append(f"mt_rand:0:{modulus - 1}")
    out += [f"intn:{modulus}", f"int63n:{modulus}", f"dotnet_next:{modulus}"]
    valid = []
    for text in out:
        try:
            parse_draw(text)
        except ValueError:
            continue
        valid.append(text)
    return valid


def candidate_pairs(
    generators: Iterable[str] | None, draws: Sequence[str]
) -> list[tuple[str, str]]:
    """Every compatible (generator, draw) of the lists; ``None`` means every generator."""
    names = list(GENERATORS) if generators is None else list(generators)
    specs = [parse_draw(d) for d in draws]
    pairs = []
    for name in names:
        gen = get_generator(name)
        for spec in specs:
            try:
                check_compatible(gen, spec)
            except ValueError:
                continue
            pairs.append((name, spec.text))
    return pairs


ScanFn = Callable[[str, str], PairScan]


def identify(
    pairs: Sequence[tuple[str, str]],
    scan: ScanFn,
    alpha: float = FINDING_ALPHA,
    on_scan: Callable[[PairScan], None] | None = None,
) -> Identification:
    """Scan each pair with ``scan`` (which may return a skipped ``PairScan``) and correct."""
    if not pairs:
        raise ValueError("no (generator, draw) pair to try")
    scans = []
    for generator, draw in pairs:
        t0 = time.perf_counter()
        found = scan(generator, draw)
        if found.seconds == 0.0 and found.skipped is None:
            found = PairScan(**{**asdict(found), "seconds": time.perf_counter() - t0})
        scans.append(found)
        if on_scan is not None:
            on_scan(found)
    return Identification(tuple(scans), alpha)
