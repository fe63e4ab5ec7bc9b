"""AutoDock4 grid maps for one box, so that Vina can score poses with the AutoDock4 function.

AutoDock Vina ships the AutoDock4 scoring function (``sf_name="ad4"``; Morris et al., J Comput Chem
30:2785, 2009, doi:10.1002/jcc.21256) but cannot compute its grid maps: AutoGrid4 does. It is run
here as a separate program (Debian's ``autogrid`` package, GPL-2+; never linked or imported), on the
receptor PDBQT that ``remyfold dock`` prepared, with the grid parameter file that Meeko writes
(``meeko.gridbox.get_gpf_string``): one affinity map per ligand atom type, the electrostatic map
and the desolvation map, 0.375 Å spacing, AutoDock4's distance-dependent dielectric.

Used by ``pose_rescoring.py`` only (a benchmark of other pose rankings); ``remyfold dock`` does not
depend on it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from remyfold.dock.box import Box
from remyfold.dock.extra import require
from remyfold.errors import InputError

AUTOGRID = "autogrid4"
DIELECTRIC = -0.1465  # AutoDock4's setting: negative selects the distance-dependent dielectric
PAD = 2.0  # Å added to each box edge, so that a pose moved by local optimisation stays on the grid


def pdbqt_types(text: str) -> list[str]:
    """The AutoDock atom types (from column 78 on: Meeko's glue types such as CG0 take three) of a PDBQT
    text's atoms, sorted and unique."""
    return sorted({line[77:].strip() for line in text.splitlines()
                   if line.startswith(("ATOM", "HETATM")) and line[77:].strip()})  # fmt: skip


def check_autogrid() -> None:
    """:class:`InputError` (one line) unless ``autogrid4`` is on PATH."""
    if shutil.which(AUTOGRID) is None:
        raise InputError(f"the AutoDock4 rules need {AUTOGRID} on PATH (AutoGrid4; on Debian or Ubuntu: "
                         "apt-get install autogrid)")  # fmt: skip


def ad4_maps(receptor: Path, box: Box, ligand_types: list[str], folder: Path) -> Path:
    """Compute AutoDock4 maps for ``receptor`` (a PDBQT file) over ``box`` (+ :data:`PAD`) in ``folder``.

    Returns the maps' prefix (``folder/receptor``), as ``vina.Vina.load_maps`` takes it. AutoGrid4
    runs in ``folder`` with file names relative to it; a failure is an :class:`InputError` quoting the
    end of its log.
    """
    check_autogrid()
    gridbox = require("meeko.gridbox")
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / "receptor.pdbqt"
    if receptor.resolve() != local.resolve():
        shutil.copyfile(receptor, local)
    size = [edge + PAD for edge in box.size]
    gpf, _points = gridbox.get_gpf_string(list(box.centre), size, local.name, pdbqt_types(local.read_text()),
                                          sorted(ligand_types), dielectric=DIELECTRIC)  # fmt: skip
    (folder / "receptor.gpf").write_text(gpf)
    done = subprocess.run([AUTOGRID, "-p", "receptor.gpf", "-l", "receptor.glg"], cwd=folder,
                          capture_output=True, text=True)  # fmt: skip
    prefix = folder / "receptor"
    wanted = [Path(f"{prefix}.{kind}.map") for kind in [*ligand_types, "e", "d"]]
    if done.returncode != 0 or not all(path.is_file() for path in wanted):
        log = (folder / "receptor.glg").read_text(errors="replace") if (folder / "receptor.glg").is_file() else ""
        tail = " ".join((log or done.stderr).split()[-20:])
        raise InputError(f"{AUTOGRID} failed on {receptor} (exit {done.returncode}): ...{tail}")
    return prefix


def ad4_engine(prefix: Path):
    """A ``vina.Vina`` engine with the AutoDock4 function and the maps at ``prefix`` loaded."""
    vina = require("vina")
    engine = vina.Vina(sf_name="ad4", cpu=1, verbosity=0)
    engine.load_maps(str(prefix))
    return engine
