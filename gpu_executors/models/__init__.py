"""Regressors that rank candidates: four families searched, cross-validated, saved and judged.

``families/`` (one module per family behind ``ModelFamily``; the ``Family`` enum), ``budget``
(compute caps), ``validation`` (input checks, R^2), ``fitting`` (``fit``, ``FittedModel``),
``cv`` (k-fold CV), ``search`` (Optuna TPE, ``SearchResult``), ``persistence`` (native files),
``mlp`` (the torch net), ``records`` (the stored sidecar), ``evaluation`` (test split, chance
baselines, skip registry, checks). Only ``mlp`` imports torch at load time; the others load the
model libraries on first use, so a Dagster code location imports them cheaply. This package
never imports dagster.
"""
