"""LightGBM calls from several Python threads: only calls with the same thread count overlap.

Why: LightGBM (4.x) keeps its thread count in one process-wide variable,
``LGBM_DEFAULT_NUM_THREADS``, which every call that takes parameters (Dataset and Booster
construction, training, ``predict``) sets from its ``num_threads`` (0, the default of a bare
``Booster.predict``, resets it to OpenMP's maximum), and which its parallel loops read again
after sizing their per-thread buffers. A fold thread that builds a Dataset with 1 thread while
another fold's ``predict`` resets the count to the CPU count then runs 2 OpenMP threads over
buffers sized for 1: heap corruption, a segfault (``bench/lightgbm_thread_race.py`` reproduces
it in seconds on 2 cores, with no other native code loaded). A single lock would also fix it
but would serialise cross-validation's folds, which run side by side for a 1.5-1.8x speed-up
(see ``cv.fold_workers``); so calls that set the same count run together, a call with another
count waits until none is running, and nothing changes the count while any call runs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class SameThreads:
    """A lock shared by holders of one key (LightGBM's thread count), exclusive across keys.

    ``hold(None)`` is for calls that read the count but do not set it (loading, saving): they
    run beside any holders and keep the count from changing while they run.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._key: int | None = None  # the count the running holders set
        self._active = 0

    @contextlib.contextmanager
    def hold(self, threads: int | None) -> Iterator[None]:
        if threads is not None and (isinstance(threads, bool) or int(threads) < 1):
            raise ValueError(f"threads must be None or >= 1, got {threads!r}")
        with self._cond:
            self._cond.wait_for(
                lambda: self._active == 0 or threads is None or threads == self._key
            )
            if threads is not None:
                self._key = int(threads)
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if self._active == 0:
                    self._cond.notify_all()

    @property
    def active(self) -> int:
        """How many calls hold it now (for the tests)."""
        with self._cond:
            return self._active


GUARD = SameThreads()  # one per process, as LightGBM's count is
