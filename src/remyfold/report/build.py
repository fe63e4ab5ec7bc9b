"""``build_report``: turn a ``remyfold predict`` folder into an HTML report plus PNG figures.

Outputs (default ``output = DIR/report.html``):

- ``report.html``: one self-contained page (3Dmol.js, structures and figures
  inlined; opens offline).
- ``report_files/<id>.plddt.png`` and ``report_files/<id>.pae.png`` beside it
  (folder named ``<output stem>_files``), and ``<id>.chain_pairs.png`` for complexes:
  the same figures, at 200 dpi, for papers and slides.

Every file is written atomically.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from collections.abc import Callable
from pathlib import Path

from remyfold.errors import InputError
from remyfold.io.atomic import write_bytes_atomic, write_text_atomic
from remyfold.report.folder import Record, load_folder
from remyfold.report.scores import attach_scores
from remyfold.report.viewer import load_viewer_library

DEFAULT_NAME = "report.html"
DOCK_SUMMARY = "dock_summary.tsv"


def build_report(pred_dir: Path, *, output: Path | None = None, reference_dir: Path | None = None,
                 dock_dir: Path | None = None, warn: Callable[[str], None] | None = None,
                 title: str | None = None) -> Path:  # fmt: skip
    """Write the report of ``pred_dir`` and return the HTML path.

    ``reference_dir``: folder of ``<id>.pdb`` / ``<id>.cif`` (optionally
    ``.gz``) reference structures to score each prediction against; without it
    ``<id>.compare.json`` files in ``pred_dir`` are shown when present.
    ``warn`` receives one-line warnings (default: printed on stderr), e.g. when
    no file of ``reference_dir`` matches a prediction.
    Raises :class:`InputError` for a missing / empty folder, unreadable files,
    or a missing viewer library (see ``scripts/install_viewer.sh``).
    ``dock_dir``: a ``remyfold dock`` output folder whose poses to show
    (default: ``pred_dir`` itself when it holds ``dock_summary.tsv``). A ``pred_dir`` that is a
    ``remyfold dock`` folder (``dock_summary.tsv``, no ``summary.tsv``) gives a docking-only report.
    ``title``: the report's title in place of the folder (then the folder's path is not shown:
    the server's reports name the job, never the server's own paths).
    """
    from remyfold.report.html import render_page  # imported here: keeps matplotlib out of import time

    pred_dir = Path(pred_dir)
    docking_only = not (pred_dir / "summary.tsv").exists() and (pred_dir / DOCK_SUMMARY).is_file()
    records = [] if docking_only else load_folder(pred_dir)  # a `remyfold dock --out` folder: docking only
    attach_scores(records, pred_dir, reference_dir, warn=warn or _warn_on_stderr)
    library = load_viewer_library()
    output = Path(output) if output is not None else pred_dir / DEFAULT_NAME
    if output.is_dir():
        raise InputError(f"--out {output} is a folder; give the HTML file to write, e.g. {output / DEFAULT_NAME}")
    files_dir = output.with_name(f"{output.stem}_files")
    assets = {record.id: _record_assets(record, files_dir) for record in records if record.done}
    n_done = len(assets)
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    where = f"Folder {pred_dir.resolve()} · " if title is None else ""
    meta = f"{where}" + ("docking results" if docking_only else
                         f"{n_done} of {len(records)} predictions done") + f" · written {stamp}"
    title = title if title is not None else pred_dir.resolve().name
    html = render_page(records, assets, library, title=f"remyfold report: {title}", meta=meta)
    if docking_only:  # no predictions: the page keeps its docking section only
        html = re.sub(r'<section id="summary">.*?</section>\n?', "", html, count=1, flags=re.S)
    html = _with_docking(html, pred_dir, dock_dir)
    write_text_atomic(output, html)
    return output


def _warn_on_stderr(message: str) -> None:
    print(f"remyfold report: warning: {message}", file=sys.stderr)


def _with_docking(html: str, pred_dir: Path, dock_dir: Path | None) -> str:
    """Add the docking section when there are docking results to show."""
    from remyfold.report.docking import add_docking, load_docking

    if dock_dir is None and (pred_dir / DOCK_SUMMARY).is_file():
        dock_dir = pred_dir
    return html if dock_dir is None else add_docking(html, load_docking(dock_dir))


def _record_assets(record: Record, files_dir: Path):
    """Render and save one record's figures; read its structure for the viewer."""
    from remyfold.report.html import RecordAssets
    from remyfold.report.plots import chain_pair_figure, figure_png, pae_figure, plddt_figure

    title = f"{record.id}: mean pLDDT (Cα) {record.mean_plddt:.1f}"
    plddt_png = figure_png(plddt_figure(record.plddt, record.chains, title))
    pae_title = record.id if record.ptm is None else f"{record.id}: pTM {record.ptm:.3f}"
    pae_png = figure_png(pae_figure(record.pae, record.chains, pae_title, record.max_pae))
    write_bytes_atomic(files_dir / f"{record.id}.plddt.png", plddt_png)
    write_bytes_atomic(files_dir / f"{record.id}.pae.png", pae_png)
    chain_pair_png = None
    if record.chain_pair_iptm is not None and record.chain_pair_pae_min is not None:
        ids = [chain_id for chain_id, _ in record.chains]
        title = record.id if record.iptm is None else f"{record.id}: ipTM {record.iptm:.3f}"
        chain_pair_png = figure_png(chain_pair_figure(ids, record.chain_pair_iptm, record.chain_pair_pae_min, title))
        write_bytes_atomic(files_dir / f"{record.id}.chain_pairs.png", chain_pair_png)
    try:
        text = record.structure.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {record.structure}: {err}; re-run the prediction for this record") from None
    structure_format = "cif" if record.structure.suffix == ".cif" else "pdb"
    return RecordAssets(plddt_png, pae_png, structure_format, text, chain_pair_png)
