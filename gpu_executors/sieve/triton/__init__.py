"""The GPU executor: one Triton kernel source for CUDA and ROCm (and Triton's CPU interpreter).

Each kernel program takes ``BLOCK`` consecutive seeds, one per lane, and for every (offset, gap)
candidate of a seed computes the draws and counts mismatches, writing one pass flag per
candidate. The host compacts the flags and **re-walks every flagged seed on the CPU** with the
numba ``walk_seed`` of the CPU executor: the survivors table is always the CPU's record, and a GPU
pass the CPU does not confirm is counted in ``extra["gpu_false_positives"]`` (a kernel bug).

Modules, device side to host side:

- ``lazy``: functions marked for ``triton.jit`` at first use, so importing needs no triton;
- ``device``: the generators and draw functions re-written in Triton, bit for bit;
- ``kernels``: the two kernels (one-word-state generators, lazy MT19937) and their build;
- ``availability``: whether a GPU (or the interpreter) can run them, and why not;
- ``launch``: what the kernels cover, the per-scan plan and one launch;
- ``scan``: ``triton_scan``, batches of launches re-verified on the CPU.

Importing any of them never imports triton or torch: both load on first use.
"""
