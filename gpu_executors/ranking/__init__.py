"""Ranking sieve survivors: what each candidate predicts, its features and targets, the scorer.

``predicted`` (``Candidates``, ``predicted_draws``: the sieve's indexing, bit for bit),
``schema`` (``ScorerConfig``, feature and target names and column positions), ``features``
(train-only feature columns), ``spectral`` (their FFT columns), ``targets`` (holdout-only
targets and their chance levels), ``matrix`` (``History``, the one train/holdout cut, the
feature matrix and its leakage probe), ``scorer`` (the Optuna search of the ``ScorerConfig``),
``records`` (the stored record of that search). This package never imports dagster.
"""
