"""The array-state functions of a single-word generator, as a template per generator.

``base.single_word`` binds a generator's scalar ``seed1``/``step1``/``back1`` here through
``gpu_executors.specialise``, so the seed, next and prev every executor calls are module-level
functions that numba caches on disk (closures made per generator could not be).
"""

from __future__ import annotations

import numba

from gpu_executors.specialise import unbound

# Bound per generator by ``specialise``: seed -> s, s -> (s', word), s -> (s_prev, word).
seed1 = step1 = back1 = unbound


@numba.njit(nogil=True, cache=True)
def seed(seed, state):
    state[0] = seed1(seed)


@numba.njit(nogil=True, cache=True)
def next_word(state):
    s, w = step1(state[0])
    state[0] = s
    return w


@numba.njit(nogil=True, cache=True)
def prev_word(state):
    s, w = back1(state[0])
    state[0] = s
    return w
