"""The sieve: candidates (seed or state, offset, gap) consistent with observed draws.

- ``spec``: what a scan asks (``ScanSpec``) and answers (``ScanResult``, survivor schema);
- ``backends``: which executor runs a scan (``run_scan``), with the OOM fallback;
- ``cpu``: the numba executor; ``prefilters``: its first-draws filters;
- ``triton``: the GPU executor (CUDA, ROCm, or Triton's CPU interpreter);
- ``reference``: the plain Python sieve the fast executors are held to;
- ``java``: Java ``nextInt`` seeds by low-bit lifting or a lattice, without a 2^48 scan;
- ``settings``: seed blocks, sieve settings, the window optimiser's pieces, the survivor pool;
- ``records``: the stored settings and pool records (their JSON's one reader and writer).
"""
