"""Bit generators, one module per PRNG family; ``gpu_executors.prng.generators`` registers them.

Each family module defines its :class:`~gpu_executors.prng.bitgen.base.Generator` instances and
lists them in a module-level ``FAMILY`` tuple; ``base`` holds the record and the arithmetic the
families share; ``seed_sequence`` is numpy's seeding, used by ``sfc``.
"""
