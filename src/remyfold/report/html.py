"""HTML of the report: summary table, one section per prediction, inlined viewer.

The page is filled from ``templates/report.html`` (placeholders ``{{name}}``,
replaced in one pass so inserted text is never re-scanned). Every text that
comes from the prediction folder (ids, chain ids, errors, metadata, reference
names) goes through :func:`html.escape`; structure files travel as JSON in a
``<script type="application/json">`` element (see
:func:`remyfold.report.viewer.json_for_script`), figures as base64 PNG.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from html import escape
from importlib import resources

from remyfold._version import __version__
from remyfold.report.folder import Record
from remyfold.report.plots import PLDDT_BANDS
from remyfold.report.scores import DETAIL_SCORES, TABLE_SCORES, format_score
from remyfold.report.viewer import ViewerLibrary, json_for_script, script_safe

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
MEAN_PLDDT_LABEL = "Mean pLDDT (Cα)"  # the mean of the per-residue (Cα) pLDDT, as in AlphaFold DB
META_LABELS = {
    "model_name": "model",
    "weights_revision": "weights",
    "num_recycles": "recycles",
    "precision": "precision",
    "device": "device",
    "seconds": "time (s)",
    "remyfold_version": "remyfold",
}


@dataclass(frozen=True)
class RecordAssets:
    """What a done record's section shows besides its :class:`Record` data."""

    plddt_png: bytes
    pae_png: bytes
    structure_format: str  # "pdb" or "cif", as 3Dmol.js names them
    structure_text: str
    chain_pair_png: bytes | None = None  # complexes only


def render_page(
    records: list[Record], assets: dict[str, RecordAssets], library: ViewerLibrary, *, title: str, meta: str
) -> str:
    """The complete, self-contained report page as one HTML string."""
    done = [record for record in records if record.done]
    models = [{"id": r.id, "format": assets[r.id].structure_format, "data": assets[r.id].structure_text} for r in done]
    with_scores = any(record.scores for record in records)
    values = {
        "title": escape(title),
        "meta": escape(meta),
        "version": escape(__version__),
        "viewer_version": escape(library.version),
        "css": _template("report.css"),
        "summary_table": summary_table(records, with_scores),
        "scores_note": _scores_note() if with_scores else "",
        "records": "\n".join(record_section(i, r, assets[r.id]) for i, r in enumerate(done)),
        "models_json": json_for_script(models),
        "viewer_js": library.inline(),
        "report_js": script_safe(_template("report.js")),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], _template("report.html"))


def _template(name: str) -> str:
    """Text of a file in the package's ``templates/`` folder."""
    return resources.files("remyfold.report").joinpath("templates", name).read_text(encoding="utf-8")


def _scores_note() -> str:
    return (
        " Scores against the reference structure: TM-score, GDT and lDDT are higher-is-better (0–1),"
        " RMSD (Å) over aligned Cα atoms is lower-is-better."
    )


def _number(value, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def _chains_text(record: Record) -> str:
    return ", ".join(f"{chain_id}:{length}" for chain_id, length in record.chains) or "—"


def band_colour(plddt: float) -> str:
    """The AlphaFold palette colour of a pLDDT value (bands ``>90``, ``>70``, ``>50``, rest)."""
    for low, _, colour, _ in PLDDT_BANDS:
        if plddt > low:
            return colour
    return PLDDT_BANDS[-1][2]


def summary_table(records: list[Record], with_scores: bool) -> str:
    """The table of all records, failed ones included with their error."""
    score_columns = TABLE_SCORES if with_scores else ()
    head = ["#", "ID", "Status", "Length", "Chains", MEAN_PLDDT_LABEL, "pTM", "ipTM"]
    head += [title for _, title, _ in score_columns]
    numeric = {"#", "Length", MEAN_PLDDT_LABEL, "pTM", "ipTM"} | {title for _, title, _ in score_columns}
    header = "".join(f"<th{' class=num' if h in numeric else ''}>{escape(h)}</th>" for h in head + ["Error"])
    rows, section = [], 0
    for number, record in enumerate(records, start=1):
        ident = escape(record.id)
        if record.done:
            ident, section = f'<a href="#rec-{section}">{ident}</a>', section + 1
        plddt = _number(record.mean_plddt, "{:.1f}")
        if record.mean_plddt is not None:
            plddt = f'<span class="swatch" style="background:{band_colour(record.mean_plddt)}"></span>{plddt}'
        cells = [
            f'<td class="num">{number}</td>',
            f'<td class="id">{ident}</td>',
            f"<td>{escape(record.status)}</td>",
            f'<td class="num">{_number(record.length, "{:d}")}</td>',
            f"<td>{escape(_chains_text(record))}</td>",
            f'<td class="num">{plddt}</td>',
            f'<td class="num">{_number(record.ptm, "{:.3f}")}</td>',
            f'<td class="num">{_number(record.iptm, "{:.3f}")}</td>',
        ]
        cells += [f'<td class="num">{format_score(record.scores, k, fmt)}</td>' for k, _, fmt in score_columns]
        cells.append(f'<td class="error">{escape(record.error)}</td>')
        rows.append(f'<tr class="{escape(record.status)}">{"".join(cells)}</tr>')
    return (
        f'<table class="summary">\n<thead><tr>{header}</tr></thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"
    )


def record_section(index: int, record: Record, assets: RecordAssets) -> str:
    """One done record: facts line, scores, 3D view with legend, pLDDT and PAE figures."""
    ident = escape(record.id)
    facts = [
        f"<b>{record.length}</b> residues",
        f"chains <b>{escape(_chains_text(record))}</b>",
        f"mean pLDDT (Cα) <b>{_number(record.mean_plddt, '{:.1f}')}</b>",
    ]
    if record.mean_plddt_all_atom is not None:
        facts.append(f"mean pLDDT (all atoms, as esm-fold logs it) <b>{record.mean_plddt_all_atom:.1f}</b>")
    facts.append(f"pTM <b>{_number(record.ptm, '{:.3f}')}</b>")
    for label, value in (("ipTM", record.iptm), ("actifpTM", record.actifptm),
                         ("ranking confidence (0.8·ipTM + 0.2·pTM)", record.ranking_confidence)):  # fmt: skip
        if value is not None:
            facts.append(f"{label} <b>{value:.3f}</b>")
    facts += [f"{META_LABELS[k]} <b>{escape(str(v))}</b>" for k, v in record.meta.items()]
    pairs = chain_pair_block(record, assets)
    return f"""<section class="record" id="rec-{index}">
<h2>{ident}</h2>
<p class="facts">{" · ".join(facts)}</p>
{scores_block(record.scores)}<div class="panels{" complex" if pairs else ""}">
<figure class="structure">
<div class="viewer" data-model="{index}" role="img" aria-label="3D model of {ident} coloured by pLDDT"></div>
<figcaption>Model coloured by pLDDT (drag to rotate, scroll to zoom).{_legend()}</figcaption>
</figure>
<figure class="plot plddt"><img alt="pLDDT per residue of {ident}" src="{_png_uri(assets.plddt_png)}">
<figcaption>pLDDT per residue (at its Cα atom){_boundary_note(record)}.</figcaption></figure>
<figure class="plot pae"><img alt="PAE heatmap of {ident}" src="{_png_uri(assets.pae_png)}">
<figcaption>Predicted aligned error (Å): low (dark) means a confident relative position{_boundary_note(record)}.</figcaption></figure>
{pairs}</div>
</section>"""


def chain_pair_block(record: Record, assets: RecordAssets) -> str:
    """A complex's chain-pair matrices: the figure and a table of the numbers; ``""`` for a single chain."""
    if record.chain_pair_iptm is None or record.chain_pair_pae_min is None or assets.chain_pair_png is None:
        return ""
    ids = [escape(chain_id) for chain_id, _ in record.chains]
    head = "".join(f"<th class=num>{i}</th>" for i in ids)
    rows = []
    for a, chain_id in enumerate(ids):
        pairs = "".join(
            f'<td class="num">{record.chain_pair_iptm[a, b]:.3f} / {record.chain_pair_pae_min[a, b]:.1f}</td>'
            for b in range(len(ids))
        )
        rows.append(f"<tr><th>{chain_id}</th>{pairs}</tr>")
    alt = f"chain-pair ipTM and minimum PAE of {escape(record.id)}"
    return f"""<figure class="plot chain-pairs"><img alt="{alt}" src="{_png_uri(assets.chain_pair_png)}">
<figcaption>Chain pairs: ipTM restricted to the two chains (diagonal: the chain's own pTM) / lowest PAE (Å)
aligned on the row's chain, for a residue of the column's chain.</figcaption>
<table class="chain-pairs"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></figure>
"""


def _boundary_note(record: Record) -> str:
    return "; dashed lines mark chain boundaries" if len(record.chains) > 1 else ""


def _legend() -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(label)}</li>'
        for _, _, colour, label in PLDDT_BANDS
    )
    return f'<ul class="legend">{items}</ul>'


def scores_block(scores: dict | None) -> str:
    """The comparison scores of one record as a definition list, or ``""``."""
    if not scores:
        return ""
    items = [
        f"<div><dt>{escape(title)}</dt><dd>{format_score(scores, key, fmt)}</dd></div>"
        for key, title, fmt in TABLE_SCORES + DETAIL_SCORES
        if scores.get(key) is not None
    ]
    if scores.get("reference"):
        items.append(f"<div><dt>reference</dt><dd>{escape(str(scores['reference']))}</dd></div>")
    return f'<dl class="scores">{"".join(items)}</dl>\n'


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
