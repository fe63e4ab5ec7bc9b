"""Report figures: per-residue pLDDT, the PAE heatmap and the chain-pair matrices, rendered to PNG.

Figures are drawn with matplotlib's object API (``Figure`` + Agg canvas), so
no pyplot state or display is involved. Chain boundaries are drawn between the
last residue of one chain and the first of the next: with chain lengths
``[L_1, ..., L_k]`` residues are numbered 1..N over the concatenated chains
and boundaries sit at ``cumsum(L)[:-1] + 0.5``.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import blended_transform_factory

# AlphaFold pLDDT bands: (low, high, colour, label), highest confidence first.
PLDDT_BANDS = (
    (90.0, 100.0, "#0053D6", "Very high (>90)"),
    (70.0, 90.0, "#65CBF3", "Confident (70–90)"),
    (50.0, 70.0, "#FFDB13", "Low (50–70)"),
    (0.0, 50.0, "#FF7D45", "Very low (<50)"),
)
PNG_DPI = 200
MAX_ANNOTATED_CHAINS = 12  # beyond this the chain-pair cells are too small for numbers (the page's table has them)
BOUNDARY_STYLE = {"color": "#222222", "linewidth": 0.9, "linestyle": "--"}


def chain_boundaries(chains: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Boundary positions ``[n_chains - 1]`` and chain centres ``[n_chains]`` in 1-based residue units."""
    ends = np.cumsum([length for _, length in chains], dtype=np.float64)
    starts = np.concatenate([[0.0], ends[:-1]])
    return ends[:-1] + 0.5, (starts + ends) / 2.0 + 0.5


def _label_chains(ax, chains: list[tuple[str, int]]) -> None:
    """Write each chain id above the plot, centred over its residues (multi-chain models only)."""
    if len(chains) < 2:
        return
    # x in residue units, y in axes units: just above the top edge.
    transform = blended_transform_factory(ax.transData, ax.transAxes)
    for (chain_id, _), centre in zip(chains, chain_boundaries(chains)[1]):
        ax.text(centre, 1.01, f"chain {chain_id}", transform=transform, ha="center", va="bottom", fontsize=8)


def _title(ax, title: str, n_chains: int) -> None:
    """Left-aligned title, raised above the chain labels when there are any."""
    ax.set_title(title, fontsize=10, loc="left", pad=16 if n_chains > 1 else 6)


def plddt_figure(plddt: np.ndarray, chains: list[tuple[str, int]], title: str) -> Figure:
    """Line plot of pLDDT ``[N_res]`` over the four AlphaFold confidence bands."""
    fig = Figure(figsize=(7.0, 2.8), layout="constrained")
    ax = fig.add_subplot()
    n_res = plddt.shape[0]
    for low, high, colour, label in PLDDT_BANDS:
        ax.axhspan(low, high, color=colour, alpha=0.28, linewidth=0, label=label)
    ax.plot(np.arange(1, n_res + 1), plddt, color="#111111", linewidth=1.0)
    for position in chain_boundaries(chains)[0]:
        ax.axvline(position, **BOUNDARY_STYLE)
    _label_chains(ax, chains)
    ax.set_xlim(0.5, n_res + 0.5)
    ax.set_ylim(0, 100)
    ax.set_xlabel("Residue" if len(chains) < 2 else "Residue (chains concatenated)")
    ax.set_ylabel("pLDDT (Cα)")
    _title(ax, title, len(chains))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


def pae_figure(pae: np.ndarray, chains: list[tuple[str, int]], title: str, max_pae: float | None = None) -> Figure:
    """Heatmap of PAE ``[N_res, N_res]`` (row: aligned residue, column: scored residue), chain boundaries drawn."""
    fig = Figure(figsize=(4.8, 4.0), layout="constrained")
    ax = fig.add_subplot()
    n_res = pae.shape[0]
    vmax = max_pae if max_pae and max_pae > 0 else max(float(pae.max()), 1.0)
    # extent puts residue i's cell centre at i (1-based), matching chain_boundaries.
    image = ax.imshow(
        pae, cmap="Greens_r", vmin=0.0, vmax=vmax, extent=(0.5, n_res + 0.5, n_res + 0.5, 0.5), interpolation="nearest"
    )
    for position in chain_boundaries(chains)[0]:
        ax.axvline(position, **BOUNDARY_STYLE)
        ax.axhline(position, **BOUNDARY_STYLE)
    _label_chains(ax, chains)
    ax.set_xlabel("Scored residue")
    ax.set_ylabel("Aligned residue")
    _title(ax, title, len(chains))
    fig.colorbar(image, ax=ax, shrink=0.85, label="Expected position error (Å)")
    return fig


def chain_pair_figure(chain_ids: list[str], pair_iptm: np.ndarray, pae_min: np.ndarray, title: str) -> Figure:
    """Two annotated ``[C, C]`` matrices side by side: ipTM per chain pair (pTM of each chain on the
    diagonal; 0–1, higher is better) and the minimum PAE per chain pair (Å, row: the chain aligned on)."""
    fig = Figure(figsize=(7.0, 3.2), layout="constrained")
    panels = (
        (pair_iptm, "ipTM per chain pair\n(diagonal: chain pTM)", "Blues", 0.0, 1.0, "{:.2f}"),
        (pae_min, "Minimum PAE (Å)\nrow: aligned chain", "Greens_r", 0.0, 31.75, "{:.1f}"),
    )
    ticks = np.arange(len(chain_ids))
    for index, (matrix, label, cmap, vmin, vmax, fmt) in enumerate(panels):
        ax = fig.add_subplot(1, 2, index + 1)
        image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        for (row, col), value in np.ndenumerate(matrix if len(chain_ids) <= MAX_ANNOTATED_CHAINS else np.empty((0, 0))):
            # dark text on light cells, white on dark ones
            light = (value - vmin) / (vmax - vmin) < 0.55 if cmap == "Blues" else (value - vmin) / (vmax - vmin) > 0.45
            ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=8,
                    color="#111111" if light else "white")  # fmt: skip
        ax.set_xticks(ticks, chain_ids)
        ax.set_yticks(ticks, chain_ids)
        ax.set_title(label, fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    return fig


def figure_png(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    """Render ``fig`` with the Agg backend and return the PNG bytes."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()
