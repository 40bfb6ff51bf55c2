"""The significance levels, in one place, so every verdict of the same kind uses the same bar.

Two bars, on purpose. A *finding* (a survivor pool that beats the null, a candidate confirmed
outside the sieve window, a prediction source allowed past the backtest gate) claims that
something is not chance, and is acted on: it needs the stricter level. A *signal check* (a
validated Spearman rho, a model's permutation p-value) asks whether a ranking is better than
noise, and only warns: it uses the conventional level.
"""

FINDING_ALPHA = 0.01
SIGNAL_ALPHA = 0.05
