"""The GPU executor: one Triton kernel source for CUDA and ROCm (and Triton's CPU interpreter).

Each kernel program takes ``BLOCK`` consecutive seeds (or, in a state scan, states), one per
lane, and for every candidate of a seed ((offset, gap); the offset with variable gaps; the gap
in a state scan) computes the draws and counts mismatches, writing one pass flag per candidate.
The host compacts the flags and **re-walks every flagged seed on the CPU** with the numba
``walk_seed``/``walk_state`` of the CPU executor: the survivors table is always the CPU's
record, and a GPU pass the CPU does not confirm is counted in ``extra["gpu_false_positives"]``
(a kernel bug).

Modules, device side to host side:

- ``lazy``: functions marked for ``triton.jit`` at first use, so importing needs no triton;
- ``routing``: what the kernels claim, and what goes to the CPU with the reason why;
- ``device``: the generators (and inverse steps) and draw functions in Triton, bit for bit;
- ``walks``: one candidate per lane in each mode (constant gap, backward, greedy variable gap);
- ``kernels``: the two kernels (stepping generators, lazy MT19937) and their build;
- ``availability``: whether a GPU (or the interpreter) can run them, and why not;
- ``launch``: the per-scan plan (kernel, constexprs, batch size) and one launch;
- ``scan``: ``triton_scan``, batches of launches re-verified on the CPU.

Importing any of them never imports triton or torch: both load on first use.
"""
