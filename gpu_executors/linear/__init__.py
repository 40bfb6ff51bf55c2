"""The linear route: recover a GF(2)-linear generator's state from draws by solving equations.

MT19937 and its users, the xorshift family and V8's xorshift128+ are linear over GF(2): every
bit a draw reveals is an XOR of state bits. ``gf2`` solves such systems, ``symbolic`` tracks the
generators as linear maps of their state bits, ``reveal`` says which bits each draw function
reveals, ``solve`` puts them together into a :class:`~gpu_executors.linear.result.LinearResult`.
"""
