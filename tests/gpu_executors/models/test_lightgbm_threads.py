"""LightGBM calls from several threads: only calls setting the same thread count overlap.

The crash this prevents is a race inside LightGBM (its process-wide thread count changed under
a running call) and cannot be provoked deterministically in a test without killing the process;
``bench/lightgbm_thread_race.py`` reproduces it. These tests pin the guard's rules, which fail
deterministically without it (a second holder with another count gets in at once), and that
the LightGBM family routes its fit and predict through it with the count each call sets.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gpu_executors.models import lightgbm_threads
from gpu_executors.models.fitting import fit
from gpu_executors.models.lightgbm_threads import SameThreads


def _hold_in_thread(guard: SameThreads, threads: int | None):
    """Start a thread that holds ``guard`` until released; (entered, release, thread)."""
    entered, release = threading.Event(), threading.Event()

    def run() -> None:
        with guard.hold(threads):
            entered.set()
            release.wait(10)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return entered, release, t


def test_same_count_overlaps() -> None:
    guard = SameThreads()
    meet = threading.Barrier(2, timeout=5)  # breaks (and the test fails) if they cannot overlap

    def run() -> None:
        with guard.hold(1):
            meet.wait()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not meet.broken
    assert guard.active == 0


def test_other_count_waits_until_none_runs() -> None:
    guard = SameThreads()
    a_in, a_go, a = _hold_in_thread(guard, 1)
    assert a_in.wait(5)
    b_in, b_go, b = _hold_in_thread(guard, 2)
    assert not b_in.wait(0.3), "a call with another thread count ran beside a running one"
    a_go.set()
    assert b_in.wait(5)
    b_go.set()
    a.join(5)
    b.join(5)
    assert guard.active == 0


def test_a_reader_runs_beside_any_count_and_blocks_a_change() -> None:
    guard = SameThreads()
    a_in, a_go, a = _hold_in_thread(guard, 1)
    assert a_in.wait(5)
    r_in, r_go, r = _hold_in_thread(guard, None)
    assert r_in.wait(5)  # beside the count-1 holder
    a_go.set()
    a.join(5)
    c_in, c_go, c = _hold_in_thread(guard, 3)
    assert not c_in.wait(0.3), "the count changed while a reader ran"
    r_go.set()
    assert c_in.wait(5)
    c_go.set()
    r.join(5)
    c.join(5)


@pytest.mark.parametrize("bad", [0, -1, True])
def test_bad_count_is_refused(bad) -> None:
    with pytest.raises(ValueError, match="threads must be"), SameThreads().hold(bad):
        pass


class _Recording(SameThreads):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[int | None] = []

    def hold(self, threads):
        self.keys.append(threads)
        return super().hold(threads)


def test_lightgbm_family_holds_the_guard_with_the_count_it_sets(monkeypatch, tmp_path) -> None:
    pytest.importorskip("lightgbm")
    from gpu_executors.models.families import get_family
    from gpu_executors.models.families import lightgbm as family_module

    spy = _Recording()
    monkeypatch.setattr(family_module, "GUARD", spy)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    params = {"n_estimators": 5, "max_depth": 3, "learning_rate": 0.3, "subsample": 1.0,
              "colsample": 1.0}  # fmt: skip
    model = fit("lightgbm", params, X, y, threads=1)
    model.predict(X)
    assert spy.keys == [1, 1]  # the fit's count, then the predict's: the Booster's own
    impl = get_family("lightgbm")
    path = impl.save(model.model, params, tmp_path / "m.txt")
    loaded, _ = impl.load(path, "cpu")
    assert spy.keys[2:] == [None, None]  # saving and loading set no count
    assert impl.predict_threads(loaded) == 1  # the file keeps the fit's count
    np.testing.assert_allclose(impl.predict(loaded, X), model.predict(X), rtol=1e-6)
    assert spy.keys[-1] == 1
    assert lightgbm_threads.GUARD.active == 0 and spy.active == 0
