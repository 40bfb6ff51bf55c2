"""The linear route end to end: draws -> equations -> state -> replayed check -> predictions.

The first ~90% of the draws are solved for, the rest held back and replayed from the recovered
state with the draw function itself, so a wrong model or a wrong draw function shows up as
mismatches instead of a confident answer. Draws that reject words (``randrange``, ``randint``,
``nextint``, ``mt_rand`` ranges) are first assumed to reject none; when the equations
contradict, a hidden word is hypothesised before each recent draw in turn (one or two words)
and the first hypothesis that makes the system consistent again is kept. Hidden words the
system cannot yet see (before it has enough equations to contradict) cannot be located that way:
the solve then restarts after the contradiction, with the state at that draw as the unknown.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gpu_executors.linear.gf2 import Echelon, pack_bits
from gpu_executors.linear.model import LinearModel
from gpu_executors.linear.registry import legacy_range, linear_models
from gpu_executors.linear.result import LinearResult
from gpu_executors.linear.reveal import LinearDraw, parse_linear_draw

Progress = Callable[[str, int, int], None] | None

SMALL = 512  # unknowns up to which draws are added one at a time
MAX_RESTARTS = 32


class Rows:
    """A model's symbolic words by position: generated forward, kept for a window behind."""

    def __init__(self, model: LinearModel, keep: int) -> None:
        self.it = model.symbolic()
        self.cache: dict[int, np.ndarray] = {}
        self.next = 0
        self.keep = keep

    def __getitem__(self, pos: int) -> np.ndarray:
        while self.next <= pos:
            self.cache[self.next] = next(self.it)
            self.cache.pop(self.next - self.keep, None)
            self.next += 1
        return self.cache[pos]


def equations(model: LinearModel, rows: Rows, draw: LinearDraw, value: int,
              pos: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows and right-hand sides one accepted draw at word ``pos`` contributes."""
    out_rows, out_rhs = [], []
    for t, (mask, val) in enumerate(draw.reveal(value)):
        mask, val = model.linear_bits(mask, val)
        if not mask:
            continue
        if mask == (1 << model.word_bits) - 1:
            out_rows.append(rows[pos + t])
            out_rhs.append(np.array([(val >> i) & 1 for i in range(model.word_bits)], np.uint8))
            continue
        bits = np.flatnonzero([(mask >> i) & 1 for i in range(model.word_bits)])
        out_rows.append(rows[pos + t][bits])
        out_rhs.append(np.array([(val >> int(i)) & 1 for i in bits], np.uint8))
    if not out_rows:
        width = (model.n_unknowns + 63) // 64
        return np.zeros((0, width), np.uint64), np.zeros(0, np.uint8)
    return np.concatenate(out_rows), np.concatenate(out_rhs)


@dataclass
class _Solve:
    ech: Echelon
    rows: Rows
    pos: int  # word position after the last solved draw
    hidden: dict[int, int] = field(default_factory=dict)  # draw -> words hidden before it
    failed_at: int | None = None  # the draw where the equations contradicted beyond repair


def add_draws(model, rows, draw, values, ech, lo, hi, pos, shift_at=None, shift=0,
               progress: Progress = None) -> tuple[np.ndarray, int]:
    """Add draws ``lo:hi`` starting at word ``pos``; ``shift`` hidden words before ``shift_at``."""
    eq_r, eq_b = [], []
    for d in range(lo, hi):
        if d == shift_at:
            pos += shift
        r, b = equations(model, rows, draw, values[d], pos)
        eq_r.append(r)
        eq_b.append(b)
        pos += draw.words_per_draw
        if progress is not None and (d - lo) % 256 == 255:
            progress("equations", d + 1, len(values))
    if not eq_r:
        return np.zeros(0, np.int64), pos
    blocks = None if progress is None else (lambda b, n: progress("elimination", b, n))
    bad = ech.add(np.concatenate(eq_r), np.concatenate(eq_b), progress=blocks, own=True)
    return bad, pos


def _solve(model: LinearModel, draw: LinearDraw, values: list[int], n_solve: int,
           progress: Progress, locate_budget_s: float) -> _Solve:
    small = model.n_unknowns <= SMALL
    chunk = 1 if small else (n_solve if not draw.can_reject else 256)
    look = 4 if small else 0
    rows = Rows(model, keep=(3 * chunk + 16) * draw.words_per_draw + 64)
    st = _Solve(Echelon(model.n_unknowns), rows, 0)
    fixed = model.constraints()
    if fixed is not None:
        st.ech.add(fixed, np.zeros(len(fixed), np.uint8))
    snaps: deque = deque(maxlen=3 if small else 2)
    i = 0
    while i < n_solve:
        end = min(i + chunk, n_solve)
        if draw.can_reject:
            snaps.append((i, st.pos, st.ech.copy()))
        bad, pos = add_draws(model, rows, draw, values, st.ech, i, end, st.pos,
                              progress=None if small else progress)
        if len(bad) == 0:
            st.pos = pos
            i = end
            continue
        if not draw.can_reject:
            st.failed_at = end
            return st
        found = _locate(model, rows, draw, values, snaps, end, min(end + look, n_solve),
                        locate_budget_s)
        if found is None:
            st.failed_at = end
            return st
        st.ech, st.pos, j, h, i = found
        st.hidden[j] = h
        snaps.clear()
    return st


def _locate(model, rows, draw, values, snaps, end, stop, budget_s):
    """The latest single hiding (1 or 2 words before one draw) that restores consistency."""
    t0 = time.perf_counter()
    for si, spos, sech in reversed(snaps):
        for j in range(end - 1, si - 1, -1):
            for h in (1, 2):
                if time.perf_counter() - t0 > budget_s:
                    return None
                ech = sech.copy()
                try:
                    bad, pos = add_draws(model, rows, draw, values, ech, si, stop, spos,
                                          shift_at=j, shift=h)
                except KeyError:  # the symbolic window no longer holds these words
                    return None
                if len(bad) == 0:
                    return ech, pos, j, h, stop
    return None


def replay(model: LinearModel, draw: LinearDraw, x: np.ndarray, values: list[int],
           predict: int) -> tuple[list[bool], int, list[int]]:
    """Replay the draws from the state ``x``: (match per draw, words rejected, predictions)."""
    words = model.words(x)
    matched, rejected = [], 0
    for v in values:
        got, rej = draw.simulate(words)
        matched.append(got == v)
        rejected += rej
    preds = [draw.simulate(words)[0] for _ in range(predict)]
    return matched, rejected, preds


def undetermined_bits(model: LinearModel, ech: Echelon, draw: LinearDraw, n_draws: int,
                      horizon: int, limit: int = 64) -> int:
    """How many free directions of the solution change the words after the observed ones."""
    if ech.nullity > limit:
        return ech.nullity
    skip = n_draws * draw.words_per_draw
    vecs = ech.nullspace(limit)
    if len(vecs) == 0:
        return 0
    bits = []
    for v in vecs:
        words = model.words(v)
        for _ in range(skip):
            next(words)
        ahead = [next(words) for _ in range(horizon)]
        bits.append([(w >> i) & 1 for w in ahead for i in range(model.word_bits)])

    check = Echelon(len(bits[0]))
    check.add(pack_bits(np.array(bits, np.uint8)), np.zeros(len(bits), np.uint8))
    return check.rank


@dataclass(frozen=True)
class Solution:
    """A crack's result with what replays it: the candidate model's index among
    ``linear_models(generator)`` and the packed unknowns (None when nothing was recovered).
    The unknowns are the state at draw ``result.first_draw``."""

    result: LinearResult
    model_index: int | None
    bits: np.ndarray | None
    fitting_models: int = 0  # candidate models (V8: cache positions) the draws left consistent


def crack_linear(generator: str, draw_text: str, values: list[int], predict: int = 10,
                 earlier: int = 10, holdout: float = 0.1, progress: Progress = None,
                 locate_budget_s: float = 60.0) -> LinearResult:
    """Recover ``generator``'s state from ``values`` drawn with ``draw_text``.

    Raises ValueError for a generator or draw function the route cannot handle, or a draw value
    out of the draw function's range.
    """
    return solve_linear(generator, draw_text, values, predict, earlier, holdout, progress,
                        locate_budget_s).result


def solve_linear(
    generator: str,
    draw_text: str,
    values: list[int],
    predict: int = 10,
    earlier: int = 10,
    holdout: float = 0.1,
    progress: Progress = None,
    locate_budget_s: float = 60.0,
) -> Solution:
    """``crack_linear`` keeping the solution itself, for callers that replay it (the sieve)."""
    t0 = time.perf_counter()
    models = linear_models(generator)
    draw = parse_linear_draw(draw_text, models[0], legacy_range(generator))
    for v in values:
        draw.reveal(v)  # range check: a clear error before any work
    if not values:
        raise ValueError("no draws given")
    _check_rejection_is_rare(models[0], draw, values)
    start, notes, best, chosen, fitting = 0, [], None, (None, None), 0
    for _ in range(MAX_RESTARTS):
        tried = [_crack_from(m, draw, values[start:], predict, earlier, holdout, progress,
                             locate_budget_s) for m in models]
        found = [r for r, _x in tried]
        good = [r for r in found if r.solved]
        fitting = len(good)
        if len({tuple(r.predictions) for r in good}) > 1:
            # Models come in order of preference (V8: a fresh, full cache first).
            common = _common_prefix([r.predictions for r in good])
            notes.append(f"{len(good)} model positions fit the draws; the predictions assume "
                         f"{_position(good[0])} (V8: a fresh process), and only the first "
                         f"{common} are the same under every position that fits")
        best = good[0] if good else max(found, key=lambda r: (r.rank, r.matched))
        index = found.index(best)
        chosen = (index, tried[index][1]) if best.solved else (None, None)
        if best.solved or not draw.can_reject:
            break
        restart = _restart_point(found)
        if restart is None or len(values) - start - restart < 8:
            break
        notes.append(f"draws {start}..{start + restart - 1} hid words the system could not "
                     f"locate; restarted at draw {start + restart}")
        start += restart
    result = _with(best, first_draw=start, n_draws=len(values),
                   seconds=time.perf_counter() - t0, notes=notes + best.notes)
    return Solution(result, *chosen, fitting_models=fitting)


MAX_HIDDEN = 2.0  # hidden words expected before the system can contradict, at most


def _check_rejection_is_rare(model: LinearModel, draw: LinearDraw, values: list[int]) -> None:
    """Refuse, with the numbers, a draw that hides too many words to locate.

    A hidden word is located only once the equations contradict, after about
    ``unknowns / bits per draw`` draws; the solve needs a stretch of that many draws with no
    hidden word it cannot place, which costs ``e^(expected hidden words)`` times the data.
    """
    if not draw.can_reject:
        return
    sample = values[:200]
    bits = sum(bin(m).count("1") for v in sample for m, _ in draw.reveal(v)) / len(sample)
    need = model.n_unknowns / max(bits, 1e-9)
    hidden = draw.reject_rate * need
    if hidden > MAX_HIDDEN:
        raise ValueError(
            f"{draw.text} rejects {100 * draw.reject_rate:.2g}% of {model.name}'s words and "
            f"reveals {bits:.1f} bits per draw: about {need:,.0f} draws must be placed before "
            f"the equations can contradict, so about {hidden:.0f} hidden words would fall "
            "where they cannot be located; the linear route handles rejection only where it is "
            "rare (small-state generators, PHP's mt_rand ranges, Java's nextInt)")


def _common_prefix(seqs: list[list[int]]) -> int:
    n = 0
    while all(len(s) > n and s[n] == seqs[0][n] for s in seqs):
        n += 1
    return n


def _position(r: LinearResult) -> str:
    return ", ".join(f"{k} {v}" for k, v in (r.state or {}).items() if k == "cache_left")


def _restart_point(found: list[LinearResult]) -> int | None:
    points = [r.first_draw for r in found if r.first_draw > 0]
    return min(points) if points else None


def _with(r: LinearResult, **changes) -> LinearResult:
    return LinearResult(**{**r.to_dict(), **changes})


def _unsolved(**fields) -> tuple[LinearResult, None]:
    return LinearResult(**fields, solved=False), None


def _crack_from(model: LinearModel, draw: LinearDraw, values: list[int], predict: int,
                earlier: int, holdout: float, progress: Progress,
                locate_budget_s: float) -> tuple[LinearResult, np.ndarray | None]:
    """One model, draws from ``values[0]``: the result and the solution that gave it (None
    unsolved). ``first_draw`` of a failure: where to restart."""
    n = len(values)
    held = int(n * holdout) if n >= 20 else 0
    n_solve = n - held
    full = draw.kind == "word" or (draw.kind == "getrandbits" and draw.params[0] == 32)
    x = model.from_full_words(values) if full else None
    if x is not None:  # no elimination needed: replay every draw as the check
        return _finish(model, draw, values, x, predict, earlier, dict(
            generator=model.name, draw=draw.text, n_draws=n, first_draw=0,
            used_for_solve=min(n, model.n_unknowns // model.word_bits),
            held_back=max(n - model.n_unknowns // model.word_bits, 0), held_back_matched=0,
            matched=0, unknowns=model.n_unknowns, rank=model.n_unknowns,
            free_bits=0, undetermined_bits=0, rejected_words=0), [])
    st = _solve(model, draw, values, n_solve, progress, locate_budget_s)
    base = dict(generator=model.name, draw=draw.text, n_draws=n, first_draw=0,
                used_for_solve=n_solve, held_back=held, held_back_matched=0, matched=0,
                unknowns=model.n_unknowns, rank=st.ech.rank, free_bits=st.ech.nullity,
                undetermined_bits=st.ech.nullity, rejected_words=sum(st.hidden.values()))
    if st.failed_at is not None:
        base["first_draw"] = st.failed_at
        return _unsolved(**base,
                         reason=f"the equations contradict at draw {st.failed_at - 1}: "
                                "not this generator and draw function, or words hidden "
                                "where the system cannot locate them")
    notes = []
    horizon = max(predict * draw.words_per_draw, 1) + 8
    und = undetermined_bits(model, st.ech, draw, n_solve, horizon)
    if und and held:
        bad, _ = add_draws(model, st.rows, draw, values, st.ech, n_solve, n, st.pos)
        if len(bad):
            base.update(rank=st.ech.rank, free_bits=st.ech.nullity)
            return _unsolved(**base, reason=(
                "the held-back draws, needed to pin the state, contradict the others: not this "
                "generator and draw function, or hidden words"))
        notes.append("the held-back draws were needed to solve: no independent check")
        n_solve, held = n, 0
        und = undetermined_bits(model, st.ech, draw, n, horizon)
    base.update(used_for_solve=n_solve, held_back=held, rank=st.ech.rank,
                free_bits=st.ech.nullity, undetermined_bits=und)
    if und:
        return _unsolved(**base, reason=(
            f"not enough draws: rank {st.ech.rank} of {model.n_unknowns} unknowns leaves "
            f"{und} bits of the future undetermined; give more draws (README: how many each "
            "generator and draw function needed)"))
    return _finish(model, draw, values, st.ech.solution(), predict, earlier, base, notes)


def _finish(model: LinearModel, draw: LinearDraw, values: list[int], x: np.ndarray,
            predict: int, earlier: int, base: dict,
            notes: list[str]) -> tuple[LinearResult, np.ndarray | None]:
    """Replay every draw from ``x`` (the check), then predict, walk back, look for a seed."""
    n, n_solve = len(values), base["used_for_solve"]
    matched, rejected, preds = replay(model, draw, x, values, predict)
    base.update(matched=sum(matched), held_back_matched=sum(matched[n_solve:]),
                rejected_words=rejected)
    if not all(matched):
        first = matched.index(False)
        base["first_draw"] = max(first, 1)
        return _unsolved(**base,
                         reason=f"the recovered state replays {sum(matched)} of {n} draws "
                                f"(first mismatch at draw {first})")
    seed = model.seed(x)
    before = model.earlier_words(x, earlier) if earlier else None
    one_word = draw.words_per_draw == 1 and not draw.can_reject
    result = LinearResult(
        **base, solved=True, reason="", state=model.state(x), predictions=preds,
        earlier_words=before,
        earlier_draws=[draw.simulate(iter([w]))[0] for w in before] if before and one_word
        else None,
        seed=None if seed is None else seed[0], seed_offset=None if seed is None else seed[1],
        notes=notes)
    return result, x
