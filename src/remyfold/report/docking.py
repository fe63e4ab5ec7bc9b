"""Docked poses in the report: a score table and one 3D view of the receptor–pose complex.

``load_docking(dir)`` reads the ``*.dock.json`` records and ``*.complex.pdb``
files that ``remyfold dock`` writes; ``add_docking(html, pairs)`` inserts a
"Docking" section (table of receptor, ligand, the top pose's pocket (and how many pockets were
docked when the site was found automatically), top Vina score (and AutoDock4 score when ranked by it), pocket
mean pLDDT (Cα), the top pose's PoseBusters verdict, lining residues; a pair selector; a 3Dmol.js view with the
ligand as sticks and the pocket residues as thin sticks) before ``</main>``,
and its data and script before ``</body>``. Text from files is escaped; the
structures travel as JSON (see :func:`remyfold.report.viewer.json_for_script`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path

from remyfold.dock.vina_dock import AGREEMENT_RMSD, RIVAL_KCAL
from remyfold.errors import InputError
from remyfold.report.viewer import json_for_script, script_safe

LOW_PLDDT = 70.0


@dataclass(frozen=True)
class DockedPair:
    """One receptor–ligand docking result as the report shows it."""

    record: dict
    complex_pdb: str

    @property
    def label(self) -> str:
        return f"{self.record['receptor']} · {self.record['ligand']}"


def load_docking(dock_dir: Path) -> list[DockedPair]:
    """Every finished pair of a ``remyfold dock`` output folder, sorted by receptor then ligand."""
    dock_dir = Path(dock_dir)
    if not dock_dir.is_dir():
        raise InputError(f"--dock {dock_dir} is not a folder; give the --out folder of remyfold dock")
    pairs = []
    for path in sorted(dock_dir.glob("*.dock.json")):
        try:
            record = json.loads(path.read_text("utf-8"))
            complex_pdb = path.with_name(path.name.replace(".dock.json", ".complex.pdb")).read_text("utf-8")
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read docking result {path}: {err}") from None
        _check_top_pose(path, record.get("top_pose"))
        pairs.append(DockedPair(record, complex_pdb))
    if not pairs:
        raise InputError(f"no docking results (*.dock.json) in {dock_dir}; run remyfold dock --out {dock_dir}")
    return pairs


def _check_top_pose(path: Path, top_pose) -> None:
    """A record's ``top_pose`` is absent (made before the check) or as ``remyfold dock`` writes it."""
    keys = {"clear": bool, "rival_ranks": list, "margin_kcal_mol": (int, float), "rival_rmsd": (int, float)}
    if top_pose is not None and not (isinstance(top_pose, dict)
                                     and all(isinstance(top_pose.get(k), t) for k, t in keys.items())):  # fmt: skip
        raise InputError(f"docking result {path}: its top_pose entry is damaged; rerun remyfold dock for this pair")


def add_docking(html: str, pairs: list[DockedPair]) -> str:
    """The report page with the docking section and its script added."""
    section = docking_section(pairs)
    data = [{"label": p.label, "pdb": p.complex_pdb, "pocket": _pocket_selection(p.record)} for p in pairs]
    scripts = (f'<script type="application/json" id="remyfold-docking">{json_for_script(data)}</script>\n'
               f"<script>\n{script_safe(_template('docking.js'))}\n</script>\n")
    html = html.replace("</main>", section + "\n</main>", 1)
    return html.replace("</body>", scripts + "</body>", 1)


def docking_section(pairs: list[DockedPair]) -> str:
    """HTML of the docking section: table, selector, viewer box, limits note."""
    rows = "\n".join(_row(i, p) for i, p in enumerate(pairs))
    options = "".join(f'<option value="{i}">{escape(p.label)}</option>' for i, p in enumerate(pairs))
    return f"""<section id="docking">
<h2>Docking</h2>
<table class="docking">
<thead><tr><th>receptor</th><th>ligand</th><th>pocket</th><th>Vina (kcal/mol)</th>\
<th>pocket mean pLDDT (Cα)</th><th>top pose PoseBusters</th><th>top pose clear</th><th>pocket residues</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p><label>3D view: <select id="dock-pair">{options}</select></label></p>
<div class="dock-viewer" style="position:relative;width:100%;height:480px;border:1px solid #ccc"></div>
<p class="note">Ligand: green sticks; pocket residues: thin sticks. Vina scores rank poses (AutoDock4 \
scores with <code>--ranking ad4</code>); neither is a binding affinity. A top pose is not clear when other \
binding modes (poses more than {AGREEMENT_RMSD:g} Å from it) score within {RIVAL_KCAL:g} kcal/mol of it: \
Vina's score does not separate them, so look at them all; ranked by AutoDock4, also when Vina's and \
AutoDock4's top poses are different binding modes. A pocket mean pLDDT below {LOW_PLDDT:.0f} marks a \
low-confidence predicted pocket.</p>
</section>"""


def _row(index: int, pair: DockedPair) -> str:
    r = pair.record
    top = min(r["poses"], key=lambda p: p["rank"])
    plddt = r.get("pocket_mean_plddt")
    if plddt is None:
        plddt_cell = "—"
    else:
        plddt_cell = f"{plddt:.1f}" + (' <span class="low">low</span>' if plddt < LOW_PLDDT else "")
    checks = _posebusters_cell(top.get("posebusters"))
    residues = ", ".join(r.get("pocket_residues", [])[:12])
    more = len(r.get("pocket_residues", [])) - 12
    return (f'<tr data-pair="{index}"><td>{escape(r["receptor"])}</td><td>{escape(r["ligand"])}</td>'
            f'<td>{_pocket_cell(r)}</td><td>{_score_cell(top)}</td><td>{plddt_cell}</td><td>{checks}</td>'
            f"<td>{_clarity_cell(r.get('top_pose'))}</td>"
            f'<td>{escape(residues)}{f" (+{more})" if more > 0 else ""}</td></tr>')


def _score_cell(top: dict) -> str:
    """The top pose's Vina score, and its AutoDock4 score when the poses were ranked by it."""
    ad4 = top.get("ad4_kcal_mol")
    return f'{top["vina_kcal_mol"]:.2f}' + ("" if ad4 is None else f" (ranked by AutoDock4: {ad4:.2f})")


def _pocket_cell(record: dict) -> str:
    """The top pose's pocket, and ``(of N docked)`` when poses were ranked across several pockets."""
    docked = len(record.get("pockets_docked") or [])
    return escape(str(record["pocket"])) + (f" (of {docked} docked)" if docked > 1 else "")


def _clarity_cell(top_pose: dict | None) -> str:
    """``yes``, ``no`` with the rival poses' ranks, or a dash for records made before the check."""
    if not top_pose:
        return "—"
    if top_pose["clear"]:
        return "yes"
    ranks = ", ".join(str(r) for r in top_pose["rival_ranks"])
    if top_pose.get("ranking") == "ad4":
        return (f'<span class="low">no</span> (poses {escape(ranks)}, &gt; {top_pose["rival_rmsd"]:g} Å away: '
                "Vina's and AutoDock4's scores do not agree on one binding mode)")
    return (f'<span class="low">no</span> (poses {escape(ranks)} within '
            f'{top_pose["margin_kcal_mol"]:g} kcal/mol, &gt; {top_pose["rival_rmsd"]:g} Å away)')


def _posebusters_cell(check: dict | None) -> str:
    """``pass``, ``fail`` with the failed tests, or a dash for records made before the checks."""
    if not check:
        return "—"
    if check.get("passed"):
        return "pass"
    return f'<span class="low">fail</span> ({escape(", ".join(check.get("failed", [])))})'


def _pocket_selection(record: dict) -> list[dict]:
    """Pocket residues as 3Dmol.js selections ``{chain, resi}`` (``chain:RESnum`` strings parsed)."""
    out = []
    for item in record.get("pocket_residues", []):
        chain, _sep, rest = item.partition(":")
        digits = "".join(ch for ch in rest if ch.isdigit() or ch == "-")
        if digits.lstrip("-"):
            out.append({"chain": chain, "resi": int(digits)})
    return out


def _template(name: str) -> str:
    return resources.files("remyfold.report").joinpath("templates", name).read_text("utf-8")
