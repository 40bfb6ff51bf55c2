"""Pictures as asset metadata: a PNG rendered off-screen, embedded as markdown.

matplotlib is imported where a figure is drawn, not when the code location loads: every Dagster
run process loads the definitions, and most draw nothing. Figures render off-screen (Agg) unless
the user chose a backend (``MPLBACKEND``).
"""

from __future__ import annotations

import base64
import io
import os
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def figure_metadata(fig: Figure) -> dg.MetadataValue:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return dg.MetadataValue.md(f"![plot](data:image/png;base64,{data})")


def value_histogram(values: np.ndarray, modulus: int, title: str) -> dg.MetadataValue:
    """Draw counts per value bin against the flat line a uniform source would give."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 2.8))
    bins = min(modulus, 50)
    counts, edges = np.histogram(values, bins=bins, range=(0, modulus))
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color="#4b7bec")
    expected = len(values) / bins
    ax.axhline(expected, color="black", linestyle="--", linewidth=1, label="uniform")
    ax.set_xlabel("draw value")
    ax.set_ylabel("count")
    ax.set_title(title)
    ax.legend(loc="upper right")
    return figure_metadata(fig)
