"""``triton_scan``: a scan in batches of kernel launches, every GPU pass re-walked on the CPU.

Flags are compacted on the device, so only the (candidate, lane, flag) of passes come back. Each
flagged seed is re-walked by the CPU executor's numba ``walk_seed_strategy``, which alone records
survivors (with variable gaps: the strategy kept and its gap sequence; the kernel only says that
some strategy passes); disagreements are tallied (``gpu_false_positives``: a kernel bug;
``gpu_conservative_passes``: unsure lanes, by design, see ``kernels``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gpu_executors.sieve.cpu import Walkers, compile_walkers, walk_params
from gpu_executors.sieve.spec import (
    Progress,
    ScanMode,
    ScanResult,
    ScanSpec,
    empty_columns,
    survivors_frame,
)
from gpu_executors.sieve.triton.launch import (
    candidate_index,
    launch,
    n_candidates,
    plan_launches,
)

U64 = np.uint64


@dataclass
class _Verifier:
    """Re-walks GPU-flagged seeds (or states) on the CPU and tallies agreement."""

    spec: ScanSpec
    walkers: Walkers
    obs: np.ndarray
    p: np.ndarray
    false_positives: int = 0
    missed: int = 0
    conservative: int = 0
    conservative_confirmed: int = 0

    def __post_init__(self) -> None:
        n_cand = n_candidates(self.spec)
        n_gaps = max(len(self.spec.draws) - 1, 0)
        self._states = [np.empty(self.walkers.state_size, np.uint64) for _ in range(4)]
        self._gaps_out = np.zeros(n_gaps, np.int64)
        self._best_gaps = np.zeros(n_gaps, np.int64)
        self._rec_strat = np.zeros(n_cand, np.int64)
        self._rec = [np.zeros(n_cand, np.int64) for _ in range(4)]  # offset, gap, fwd, rev
        self._rec_gaps = np.zeros((n_cand, n_gaps), np.int64)
        self.cols = empty_columns()

    def _walk(self, seed: int) -> int:
        """The CPU's survivors of one seed (or state) into ``_rec``, as ``cpu_scan`` walks it."""
        rec_off, rec_gap, rec_fwd, rec_rev = self._rec
        rec_off[:] = 0
        rec_rev[:] = 0
        if self.spec.mode is ScanMode.STATE:
            base, st, _trial, probe = self._states
            walk_state = self.walkers.walk_state
            assert walk_state is not None  # ScanSpec.validate refuses state scans without one
            return walk_state(
                U64(seed), self.obs, self.p, base, st, probe, rec_gap, rec_fwd, rec_rev
            )
        return self.walkers.walk_seed_strategy(
            U64(seed),
            self.obs,
            self.p,
            *self._states,
            self._gaps_out,
            self._best_gaps,
            rec_off,
            rec_gap,
            rec_fwd,
            self._rec_gaps,
            self._rec_strat,
        )

    def verify(self, seed: int, cands: np.ndarray, flags: np.ndarray) -> None:
        """Record the CPU's survivors of ``seed``; compare with the GPU's (candidate, flag)s."""
        n = self._walk(seed)
        rec_off, rec_gap, rec_fwd, rec_rev = self._rec
        sp = self.spec
        cpu = {candidate_index(sp, int(rec_off[k]), int(rec_gap[k])) for k in range(n)}
        exact = {int(c) for c, f in zip(cands, flags, strict=True) if f == 1}
        unsure = {int(c) for c, f in zip(cands, flags, strict=True) if f == 2}
        self.false_positives += len(exact - cpu)
        self.missed += len(cpu - exact - unsure)
        self.conservative += len(unsure)
        self.conservative_confirmed += len(unsure & cpu)
        self.cols["seed"] += [seed] * n
        self.cols["offset"] += rec_off[:n].tolist()
        self.cols["gap"] += rec_gap[:n].tolist()
        self.cols["gaps"] += self._rec_gaps[:n].tolist() if sp.variable_gap else [[]] * n
        self.cols["strategy"] += ([sp.gap_strategies[int(k)].value for k in self._rec_strat[:n]]
                                  if sp.variable_gap else [None] * n)
        self.cols["forward_matches"] += rec_fwd[:n].tolist()
        self.cols["reverse_matches"] += rec_rev[:n].tolist()


def triton_scan(
    spec: ScanSpec,
    *,
    device: str | None = None,
    batch: int = 1 << 22,
    progress: Progress | None = None,
    block: int | None = None,
) -> ScanResult:
    """Run a scan (seed or state, constant or variable gaps) with the Triton kernels; every GPU
    survivor is re-verified on the CPU.

    ``device``: a torch device (default ``"cuda"``; ``"cpu"`` under ``TRITON_INTERPRET=1``).
    ``batch``: seeds per launch (capped so flags and MT scratch stay within 256 MiB).
    ``block``: seeds per kernel program (default 64 on a GPU, so the early exit, taken once
    every lane of a program has failed, triggers often).
    Raises NotImplementedError for what only the CPU executor runs (the caller falls back),
    ValueError for an invalid spec, RuntimeError when no GPU backend is usable. Ctrl-C returns
    what was found so far (``complete=False``).
    """
    plan = plan_launches(spec, device, batch, block)
    import torch

    walkers = compile_walkers(spec.gen, spec.draw)
    verifier = _Verifier(spec, walkers, spec.observed(), walk_params(spec))
    n_cand = spec.candidates // max(spec.n_seeds, 1)  # as cpu_scan counts them
    t0 = time.perf_counter()
    done = flagged = 0
    complete = True
    try:
        for start in range(spec.seed_start, spec.stop, plan.batch):
            count = min(plan.batch, spec.stop - start)
            flags = launch(plan, start, count)
            # Compact on the device: only the (candidate, lane, flag) of passes come back.
            hits = torch.nonzero(flags)
            hit_flags = flags[hits[:, 0], hits[:, 1]].cpu().numpy()
            hits = hits.cpu().numpy()
            flagged += len(hits)
            order = np.lexsort((hits[:, 0], hits[:, 1]))  # by lane, then candidate
            lanes, firsts = np.unique(hits[order, 1], return_index=True)
            bounds = [*firsts.tolist(), len(order)]
            for k, lane in enumerate(lanes.tolist()):
                sel = order[bounds[k] : bounds[k + 1]]
                verifier.verify(start + lane, hits[sel, 0], hit_flags[sel])
            done = start + count - spec.seed_start
            if progress is not None:
                progress(done * n_cand, spec.candidates, len(verifier.cols["seed"]))
    except KeyboardInterrupt:
        complete = False
    seconds = time.perf_counter() - t0
    scanned = done * n_cand
    frac = scanned / spec.candidates if spec.candidates else 1.0
    extra: dict[str, Any] = {
        "reverified_on_cpu": True,
        "gpu_false_positives": verifier.false_positives,
        "gpu_missed_on_flagged_seeds": verifier.missed,
        "gpu_conservative_passes": verifier.conservative,
        "gpu_conservative_confirmed": verifier.conservative_confirmed,
        "gpu_flagged_candidates": flagged,
        "block": plan.block,
        "batch": plan.batch,
    }
    if plan.is_mt:
        extra["lazy_mt_words"] = plan.n_words
    return ScanResult(
        spec,
        survivors_frame(spec, verifier.cols),
        scanned,
        seconds,
        plan.backend,
        spec.null_expected() * frac,
        complete=complete,
        extra=extra,
        device=plan.device_report(),
    )
