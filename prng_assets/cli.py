"""The ``seedsieve`` command: ``synth`` writes scenarios, ``crack`` answers "which seed?",
``warm`` compiles kernels ahead of use, ``check-settings`` checks case settings files, ``case``
adds or lists the cases of the Dagster instance (``$DAGSTER_HOME``).

Kept free of Dagster, torch and model-library imports so a one-shot crack starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from gpu_executors.prng.draws import draw_usage
from gpu_executors.prng.generators import GENERATORS


class UsageError(Exception):
    """A bad combination of arguments, found after parsing: ``parser.error`` reports it (exit 2)."""


# argparse ``type=`` functions: a bad value is reported by argparse itself (usage, error, exit 2).


def _ints(text: str) -> tuple[int, int]:
    try:
        a, b = (int(x, 0) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected START:STOP integers") from None
    if a < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: negative")
    return a, b


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: negative")
    return value


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be in [0, 1)")
    return value


def half_open_range(text: str) -> tuple[int, int]:
    """``START:STOP`` with START < STOP (seeds, offsets)."""
    a, b = _ints(text)
    if b <= a:
        raise argparse.ArgumentTypeError(
            f"{text!r}: inverted or empty range, need START < STOP (half-open)")
    return a, b


def gap_range(text: str) -> tuple[int, int]:
    """A constant gap ``A`` or an inclusive range ``A:B`` with A <= B."""
    if ":" not in text:
        g = non_negative(text)
        return g, g
    a, b = _ints(text)
    if b < a:
        raise argparse.ArgumentTypeError(f"{text!r}: inverted or empty range, need A <= B")
    return a, b


def generator_name(text: str) -> str:
    if text not in GENERATORS:
        raise argparse.ArgumentTypeError(
            f"unknown generator {text!r}; valid: {', '.join(sorted(GENERATORS))}")
    return text


def generator_or_all(text: str) -> str:
    return text if text == "all" else generator_name(text)


def generator_choice(text: str) -> str:
    """One generator, ``auto`` (every one), or a comma-separated list to choose among."""
    if text == "auto":
        return text
    if text not in GENERATORS:
        from gpu_executors.linear.registry import LINEAR_GENERATORS

        if text in LINEAR_GENERATORS:  # handled by --mode linear only (V8's Math.random)
            return text
    for name in text.split(","):
        generator_name(name)
    return text


def draw_name(text: str) -> str:
    from gpu_executors.prng.draws import parse_draw

    try:
        parse_draw(text)
    except ValueError as exc:
        from gpu_executors.linear.reveal import LINEAR_DRAWS

        if text.split(":")[0] in LINEAR_DRAWS:  # a draw function of --mode linear only
            return text
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def draw_value(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"draw values must be integers, got {text!r}") from None


def _names_help() -> str:
    gens = ", ".join(sorted(GENERATORS))
    draws = draw_usage()
    return f"generators: {gens}\ndraw functions: {draws}"


def _linear_help() -> str:
    from gpu_executors.linear.registry import LINEAR_GENERATORS
    from gpu_executors.linear.reveal import linear_draw_usage

    return (f"--mode linear generators: {', '.join(LINEAR_GENERATORS)}\n"
            f"--mode linear draw functions: {linear_draw_usage()}")


# ---------------------------------------------------------------------------- synth


def cmd_synth(args: argparse.Namespace) -> int:
    from gpu_executors.prng.synth import planted_history, random_history, write_history

    if args.random:
        if args.modulus is None:
            raise UsageError("--random needs --modulus")
        values, truth = random_history(args.modulus, args.n)
    else:
        if not (args.generator and args.draw and args.seed is not None):
            raise UsageError("synth needs --generator, --draw and --seed (or --random)")
        _check_compatible(args.generator, args.draw)
        try:
            values, truth = planted_history(
                args.generator, args.draw, args.seed, args.n, args.offset, args.gap
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    path = write_history(args.out, values, truth)
    print(f"wrote {len(values)} draws to {path} (truth in {path}.truth.json)")
    return 0


def _check_compatible(generator: str, draw: str) -> None:
    from gpu_executors.prng.draws import check_compatible, parse_draw

    try:
        check_compatible(GENERATORS[generator], parse_draw(draw))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


# ---------------------------------------------------------------------------- crack


class _ProgressLine:
    """A one-line progress report on stderr with rate and ETA, at most twice a second."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int, survivors: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else float("inf")
        speed = f"{rate / 1e6:,.1f} M/s" if rate >= 1e6 else f"{rate:,.0f}/s"  # lattice guesses
        sys.stderr.write(
            f"\r{100 * done / total:5.1f}%  {done:,}/{total:,} candidates  "
            f"{speed}  ETA {eta:,.0f} s  survivors {survivors}   "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _read_draws(args: argparse.Namespace) -> list[int]:
    if args.draws_file and args.values:
        raise UsageError("give draws either as VALUEs or with --draws-file, not both")
    if args.draws_file:
        from gpu_executors.io.history import HistoryError, read_history

        try:
            hist = read_history(args.draws_file)
        except HistoryError as exc:
            raise UsageError(str(exc)) from None
        return [int(v) for v in hist.table["value"].to_list()]
    values = list(args.values)
    if not values:
        raise UsageError("no draws given: pass VALUEs or --draws-file")
    return values


JAVA_SMART = {name for name, g in GENERATORS.items() if g.java48}


def _run_scan(spec, args: argparse.Namespace, progress: _ProgressLine):
    """Pick the route: Java's 48 bits by lifting/lattice, else the compute backend."""
    from gpu_executors.sieve.java.recover import recover_java_seeds

    one_gap = spec.gap_min == spec.gap_max and not spec.variable_gap and spec.max_misses == 0
    if spec.generator in JAVA_SMART and spec.draw.startswith("nextint:") and one_gap:
        try:
            return recover_java_seeds(
                spec.draws, int(spec.draw.split(":")[1]), generator=spec.generator,
                offset=spec.offset_start, offset_stop=spec.offset_stop, gap=spec.gap_min,
                seed_range=(spec.seed_start, spec.stop) if args.seeds else None,
                progress=progress, miss_probability=args.miss_probability)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if spec.generator in JAVA_SMART and not args.seeds:
        raise UsageError(
            f"{spec.generator}: the 48-bit seed space needs --seeds START:STOP unless the draws "
            "are nextint with one gap and --max-misses 0 (the lifting, residue and lattice "
            "routes)"
        )
    from gpu_executors.sieve.backends import run_scan

    try:
        return run_scan(spec, args.backend, progress)
    except RuntimeError as exc:
        raise UsageError(str(exc)) from None


def _scan_spec(args: argparse.Namespace, generator: str, draw: str, draws: list[int]):
    from gpu_executors.sieve.spec import ScanSpec

    gen = GENERATORS[generator]
    default_stop = 1 << gen.seed_bits if generator in JAVA_SMART else gen.default_seed_space
    seeds = args.seeds or (0, default_stop)
    offsets = args.offset or (0, 1)
    gap = args.gap or (0, 0)
    spec = ScanSpec(
        generator=generator,
        draw=draw,
        draws=tuple(draws),
        seed_start=seeds[0],
        seed_stop=seeds[1],
        offset_start=offsets[0],
        offset_stop=offsets[1],
        gap_min=gap[0],
        gap_max=gap[1],
        variable_gap=args.variable_gap,
        max_misses=args.max_misses,
    )
    spec.validate()
    return spec


def _survivor_rows(result) -> list[dict]:
    return [
        {
            "seed": r["seed"],
            "offset": r["offset"],
            "gap": r["gap"] if r["gap"] >= 0 else None,
            "gaps": r["gaps"] or None,
            "strategy": r.get("strategy"),
            "matches": r["matches"],
            "match_rate": r["match_rate"],
        }
        for r in result.survivors.to_dicts()
    ]


def _print_survivors(result, n_draws: int) -> None:
    for r in result.survivors.to_dicts():
        gap_txt = (f"gap {r['gap']}" if r["gap"] >= 0
                   else f"gaps {r['gaps']} ({r.get('strategy')})")
        print(
            f"seed = {r['seed']}  offset {r['offset']}  {gap_txt}  "
            f"matches {r['matches']}/{n_draws}"
        )


def cmd_crack(args: argparse.Namespace) -> int:
    if args.mode == "linear":
        return _crack_linear(args)
    if args.generator not in GENERATORS and args.generator != "auto" and "," not in args.generator:
        raise UsageError(f"{args.generator} is handled by --mode linear only")
    if args.generator == "auto" or "," in args.generator:
        return _crack_auto(args)
    if not args.draw:
        raise UsageError("--draw is needed with one --generator (auto may use --modulus)")
    if args.modulus is not None:
        raise UsageError("--modulus is for --generator auto (or a list) without --draw")
    _check_compatible(args.generator, args.draw)
    draws = _read_draws(args)
    try:
        spec = _scan_spec(args, args.generator, args.draw, draws)
    except (ValueError, KeyError) as exc:
        raise UsageError(str(exc)) from None
    progress = _ProgressLine()
    result = _run_scan(spec, args, progress)
    progress.close()
    if args.json:
        payload = {
            "survivors": _survivor_rows(result),
            "null_expected": result.null_expected,
            "p_value": result.p_value,
            "candidates_scanned": result.candidates_scanned,
            "seconds": result.seconds,
            "backend": result.backend,
            "complete": result.complete,
            "generator": spec.generator,
            "draw": spec.draw,
            **{k: result.extra[k] for k in ("route", "expected_remaining", "why_incomplete",
                                            "pruning_miss_probability", "pruning_miss_measured")
               if k in result.extra},
        }
        json.dump(payload, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_survivors(result, len(draws))
        why = result.extra.get("why_incomplete") or "interrupted: partial scan"
        status = "" if result.complete else f" (incomplete: {why})"
        print(
            f"{len(result.survivors)} survivor(s) from {result.candidates_scanned:,} candidates in "
            f"{result.seconds:.2f} s ({result.rate / 1e6:,.1f} M/s, {result.backend}); "
            f"expected by chance {result.null_expected:.3g}, p = {result.p_value:.3g}{status}"
        )
        if "expected_remaining" in result.extra:
            print(f"{result.extra['route']} route: {result.extra['expected_remaining']:.3g} "
                  "other seed(s) expected to match these draws per offset")
        if result.extra.get("pruning_miss_probability"):
            exact = result.extra.get("exact_walk_seconds_estimated")
            why = "" if exact is None else f" (the exact walk: ~{exact:,.0f} s estimated)"
            print(f"pruned lattice walk{why}: a matching seed is missed with probability "
                  f"~{result.extra['pruning_miss_probability']:g} "
                  f"({result.extra['pruning_miss_measured']:.3g} on the model's sample); "
                  "--miss-probability 0 walks exactly")
    interrupted = not result.complete and result.extra.get("why_incomplete", "interrupted") \
        == "interrupted"
    return 130 if interrupted else 0


def _crack_auto(args: argparse.Namespace) -> int:
    """Every candidate pair scanned, then named only if it beats chance after correction."""
    from gpu_executors.sieve.identify import (
        PairScan,
        candidate_pairs,
        draws_for_modulus,
        identify,
    )

    if not args.draw and args.modulus is None:
        raise UsageError("--generator auto needs --draw or --modulus (every draw function of it)")
    if args.draw and args.modulus is not None:
        raise UsageError("give --draw or --modulus, not both")
    draws = _read_draws(args)
    names = None if args.generator == "auto" else args.generator.split(",")
    draw_texts = [args.draw] if args.draw else draws_for_modulus(args.modulus)
    todo = candidate_pairs(names, draw_texts)
    if not todo:
        raise UsageError(f"no generator accepts {', '.join(draw_texts)}")
    results = {}

    def scan(generator: str, draw: str) -> PairScan:
        try:
            spec = _scan_spec(args, generator, draw, draws)
        except (ValueError, KeyError) as exc:
            return PairScan(generator, draw, skipped=str(exc))
        single = spec.offset_stop - spec.offset_start == 1 and spec.gap_min == spec.gap_max
        if generator in JAVA_SMART and not args.seeds and not (
            draw.startswith("nextint:") and single and not spec.variable_gap
        ):
            return PairScan(generator, draw, skipped="48-bit seeds: give --seeds START:STOP")
        progress = _ProgressLine()
        result = _run_scan(spec, args, progress)
        progress.close()
        results[(generator, draw)] = result
        return PairScan(generator, draw, result.survivors.height, result.null_expected,
                        result.candidates_scanned, result.seconds)

    def report(found: PairScan) -> None:
        if not args.json:
            what = found.skipped or (
                f"{found.survivors} survivor(s), expected {found.null_expected:.3g}, "
                f"p = {found.p_value:.3g} ({found.seconds:.1f} s)")
            print(f"  {found.generator} {found.draw}: {what}", flush=True)

    if not args.json:
        print(f"trying {len(todo)} (generator, draw) pairs")
    ident = identify(todo, scan, on_scan=report)
    named = ident.identified
    if args.json:
        payload = {**ident.to_dict(), "survivors": {
            f"{s.generator} {s.draw}": _survivor_rows(results[(s.generator, s.draw)])
            for s in named}}
        json.dump(payload, sys.stdout)
        sys.stdout.write("\n")
        return 0
    print(f"identified: {ident.verdict()}")
    for s in named:
        print(f"{s.generator} {s.draw}: corrected p = {ident.p_adjusted(s):.3g}")
        _print_survivors(results[(s.generator, s.draw)], len(draws))
    return 0


class _StageProgress:
    """A one-line progress report of a linear solve's stages on stderr, twice a second."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        sys.stderr.write(f"\r{stage}: {100 * done / total:5.1f}%  ({now - self.t0:,.1f} s)   ")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


SCAN_ONLY = ("seeds", "offset", "gap", "modulus")


def _crack_linear(args: argparse.Namespace) -> int:
    """State recovery by linear algebra: no seed space, the state at the first draw."""
    from gpu_executors.linear.solve import crack_linear

    given = [f"--{name}" for name in SCAN_ONLY if getattr(args, name) is not None]
    given += ["--variable-gap"] if args.variable_gap else []
    given += ["--max-misses"] if args.max_misses else []
    if given:
        raise UsageError(f"{', '.join(given)}: for seed scans, not --mode linear")
    if not args.draw or args.generator == "auto" or "," in args.generator:
        raise UsageError("--mode linear needs one --generator and its --draw")
    draws = _read_draws(args)
    progress = _StageProgress()
    try:
        result = crack_linear(args.generator, args.draw, draws, predict=args.predict,
                              progress=progress)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        progress.close()
    if args.json:
        json.dump(result.to_dict(), sys.stdout)
        sys.stdout.write("\n")
        return 0 if result.solved else 1
    _print_linear(result)
    return 0 if result.solved else 1


def _print_linear(r) -> None:
    head = f"{r.generator} {r.draw}: "
    if not r.solved:
        print(head + f"no state recovered: {r.reason}")
    else:
        states = "1 consistent state" if r.free_bits == 0 else (
            f"2^{r.free_bits} consistent states, all predicting the same draws")
        print(head + f"state recovered from {r.used_for_solve:,} of {r.n_draws:,} draws "
                     f"(rank {r.rank:,} of {r.unknowns:,} unknowns; {states}) "
                     f"in {r.seconds:.2f} s")
        print(f"check: {r.held_back} held-back draws replayed, {r.held_back_matched} match; "
              f"{r.matched:,} of {r.n_draws - r.first_draw:,} draws replayed; "
              f"{r.rejected_words} word(s) assumed rejected")
        if r.seed is not None:
            print(f"seed = {r.seed} ({r.seed_offset} words before the first draw)")
        print(f"next {len(r.predictions)} draws: {' '.join(map(str, r.predictions))}")
        if r.earlier_draws:
            print(f"earlier draws (nearest last): {' '.join(map(str, r.earlier_draws))}")
        elif r.earlier_words:
            print(f"earlier words (nearest last): {' '.join(map(str, r.earlier_words))}")
    for note in r.notes:
        print(f"note: {note}")


# ---------------------------------------------------------------------------- warm


def cmd_warm(args: argparse.Namespace) -> int:
    import shutil

    from gpu_executors.kernel_cache import locate
    from gpu_executors.warm import DEFAULT_PAIRS, pairs, read_pairs, warm

    if args.pairs_file:
        try:
            todo = read_pairs(args.pairs_file)
        except (OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    elif args.generator or args.draw:
        gens = args.generator or []
        if "all" in gens:
            gens = list(GENERATORS)
        if not gens:
            raise UsageError("--draw needs --generator (a name, several, or all)")
        try:
            todo = pairs(gens, args.draw or ["mod:1000"])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    else:
        todo = list(DEFAULT_PAIRS)
    cache = locate()
    print(f"kernel cache: {cache.folder}")
    if cache.fallback:
        print(f"  (the preferred folder is {cache.fallback}; set SEEDSIEVE_KERNEL_CACHE)")
    stale = cache.stale_folders()
    if args.prune:
        for folder in stale:
            shutil.rmtree(folder, ignore_errors=True)
        print(f"  removed {len(stale)} folder(s) of other code versions")
    elif stale:
        print(f"  {len(stale)} folder(s) of other code versions beside it (--prune removes them)")
    t0 = time.perf_counter()
    done = warm(todo, jobs=args.jobs, on_done=lambda w: print(f"  {w.describe()}", flush=True))
    compiled = sum(w.compiled for w in done)
    print(f"{len(done)} pair(s) warm in {time.perf_counter() - t0:.1f} s ({compiled} compiled)")
    return 0


# ---------------------------------------------------------------------------- check-settings


def cmd_check_settings(args: argparse.Namespace) -> int:
    """Each file checked as the inbox sensor would check it; exit 1 if any is refused."""
    from pathlib import Path

    from prng_assets.case_settings import CaseSettingsError, load

    refused = 0
    for name in args.files:
        try:
            settings = load(Path(name))
        except CaseSettingsError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            refused += 1
            continue
        print(f"ok: {name} (settings sha256 {settings.digest[:16]})")
        for section, body in settings.sections.items():
            print(f"  [{section}] " + ", ".join(f"{k} = {v!r}" for k, v in body.items()))
    return 1 if refused else 0


def cmd_case(args: argparse.Namespace) -> int:
    """Add cases (what the inbox sensor does for each file) or list them, in $DAGSTER_HOME."""
    import dagster as dg

    from prng_assets.partitions import case_name, cases

    instance = dg.DagsterInstance.get()
    if args.action == "add":
        names = [case_name(n) for n in args.names]
        bad = [f"{n!r} -> {c!r}" for n, c in zip(args.names, names, strict=True) if n != c]
        if bad:
            raise UsageError(f"case names may hold letters, digits, '.', '_' and '-': "
                             f"{', '.join(bad)}")
        new = [n for n in names if not instance.has_dynamic_partition(cases.name, n)]
        if new:
            instance.add_dynamic_partitions(cases.name, new)
        for n in names:
            print(f"{'added' if n in new else 'exists'}: {n}")
        return 0
    for n in instance.get_dynamic_partitions(cases.name):
        print(n)
    return 0


# ---------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seedsieve",
        description="Recover weak-PRNG seeds from observed draws.",
        epilog=_names_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "synth",
        help="write a synthetic history with a known truth",
        epilog=_names_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("--generator", type=generator_name)
    s.add_argument("--draw", type=draw_name, help="NAME[:PARAM...], e.g. mod:1000")
    s.add_argument("--seed", type=non_negative)
    s.add_argument("--offset", type=non_negative, default=0)
    s.add_argument("--gap", type=gap_range, default=(0, 0),
                   help="constant A, or A:B for a variable gap")
    s.add_argument("--n", type=non_negative, required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--random", action="store_true", help="os.urandom draws: no signal")
    s.add_argument("--modulus", type=non_negative)
    s.set_defaults(func=cmd_synth, parser=s)

    c = sub.add_parser(
        "crack",
        help="find the seeds that produce these draws",
        epilog=_names_help() + "\n" + _linear_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--generator", type=generator_choice, required=True,
                   help="a name, a comma-separated list, or auto (every generator): each pair is "
                        "scanned and named only if it beats chance after a Bonferroni correction")
    c.add_argument("--draw", type=draw_name, help="NAME[:PARAM...]; with auto, or --modulus")
    c.add_argument("--modulus", type=non_negative,
                   help="with auto and no --draw: try every draw function giving [0, MODULUS)")
    c.add_argument("--seeds", type=half_open_range,
                   help="START:STOP (half-open); default: the whole seed space")
    c.add_argument("--offset", type=half_open_range,
                   help="A:B (half-open) words skipped before the first draw")
    c.add_argument("--gap", type=gap_range, help="A:B (inclusive) words skipped between draws")
    c.add_argument(
        "--variable-gap",
        action="store_true",
        help="each gap varies within --gap A:B (greedy smallest matching gap)",
    )
    c.add_argument("--max-misses", type=non_negative, default=0)
    c.add_argument("--miss-probability", type=probability, default=None,
                   help="java nextint, residue route: prune the lattice walk at this chance of "
                        "missing the seed (0: exact; default: exact unless estimated over "
                        "60 s, then 0.001)")
    c.add_argument("--mode", choices=["scan", "linear"], default="scan",
                   help="scan: search the seed space; linear: solve for the state of a "
                        "GF(2)-linear generator (MT19937 and its users, xorshift, "
                        "v8_math_random) from its draws, whatever the seeding")
    c.add_argument("--predict", type=non_negative, default=10,
                   help="--mode linear: how many next draws to predict")
    c.add_argument("--backend", choices=["auto", "cpu", "cuda", "rocm"], default="auto")
    c.add_argument("--json", action="store_true")
    c.add_argument("--draws-file")
    c.add_argument("values", nargs="*", type=draw_value)
    c.set_defaults(func=cmd_crack, parser=c)

    w = sub.add_parser(
        "warm",
        help="compile the kernels of (generator, draw) pairs into the on-disk cache",
        description=(
            "Compile each pair's kernels once, so later scans on this machine load them instead "
            "of compiling. Without --generator or --pairs-file: the pairs of the demo and the "
            "README's examples. "
            "The cache is kept per version of the code, under SEEDSIEVE_KERNEL_CACHE or the "
            "user's cache folder."
        ),
        epilog=_names_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    w.add_argument("--generator", nargs="+", type=generator_or_all, metavar="NAME",
                   help="generator names, or all")
    w.add_argument("--draw", nargs="+", type=draw_name, metavar="NAME[:PARAM...]",
                   help="draw functions crossed with the generators (default mod:1000)")
    w.add_argument("--pairs-file", metavar="FILE",
                   help="one 'GENERATOR DRAW' per line ('#' starts a comment)")
    w.add_argument("--jobs", type=non_negative, help="processes (default: one per core)")
    w.add_argument("--prune", action="store_true",
                   help="remove cached kernels of other code versions")
    w.set_defaults(func=cmd_warm, parser=w)

    k = sub.add_parser(
        "check-settings",
        help="check case settings files (NAME.seedsieve.toml, seedsieve.toml) as the inbox would",
    )
    k.add_argument("files", nargs="+", metavar="FILE")
    k.set_defaults(func=cmd_check_settings, parser=k)

    cs = sub.add_parser(
        "case", help="add or list the cases (partitions) of the Dagster instance",
        description="A case is a draw file with its settings; the inbox sensor adds one per "
        "file. Add one by hand before `dagster asset materialize --partition NAME`.")
    cs.add_argument("action", choices=["add", "list"])
    cs.add_argument("names", nargs="*", metavar="NAME", help="cases to add")
    cs.set_defaults(func=cmd_case, parser=cs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; any bad argument ends in argparse's usage message and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        args.parser.error(str(exc))  # raises SystemExit(2)


if __name__ == "__main__":
    raise SystemExit(main())
