"""Search boxes: where Vina looks. From a pocket, or from ``--box CX,CY,CZ,SX,SY,SZ``.

A box must be able to hold the ligand (each side at least the ligand's largest
heavy-atom distance plus 2 Å), reach the protein (a heavy atom within
:data:`REACH` Å of the box: a small box inside a pocket touches no atom) and
have sides of at most :data:`MAX_SIDE_LIMIT` Å (Vina's grid maps of a larger
box need gigabytes of memory; Vina itself warns above 27,000 Å³). An automatic box is the pocket's span plus 8 Å per axis, at least
``ligand extent + 8`` Å and 18 Å, at most 30 Å.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from remyfold.dock.errors import DockError

MIN_SIDE = 18.0
MAX_SIDE = 30.0
PAD = 8.0
FIT_MARGIN = 2.0
MAX_SIDE_LIMIT = 80.0
REACH = 4.0


@dataclass(frozen=True)
class Box:
    """Centre ``[3]`` and side lengths ``[3]`` in Å."""

    centre: tuple[float, float, float]
    size: tuple[float, float, float]

    def contains(self, points):
        """``[N]`` mask of the points ``[N, 3]`` (numpy) inside the box."""
        import numpy as np  # imported here: `remyfold dock --help` reads this module's limits

        half = np.asarray(self.size) / 2
        return np.all(np.abs(points - np.asarray(self.centre)) <= half, axis=1)

    def text(self) -> str:
        return ",".join(f"{v:.3f}" for v in (*self.centre, *self.size))


def parse_box(value: str) -> Box:
    """Parse ``CX,CY,CZ,SX,SY,SZ`` (Å); sizes must be positive and at most :data:`MAX_SIDE_LIMIT`."""
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != 6 or not all(map(math.isfinite, numbers)) or min(numbers[3:]) <= 0:
        raise DockError(f"--box {value!r} is not CX,CY,CZ,SX,SY,SZ with six numbers and positive sizes (Å)")
    if max(numbers[3:]) > MAX_SIDE_LIMIT:
        raise DockError(f"--box {value!r}: sides of at most {MAX_SIDE_LIMIT:.0f} Å (Vina's grid maps of a larger "
                        "box exhaust memory); centre a smaller box on the site or use --pocket auto")  # fmt: skip
    return Box(tuple(numbers[:3]), tuple(numbers[3:]))


def box_around(points, ligand_extent: float) -> Box:
    """An automatic box around pocket points ``[M, 3]`` (numpy; see the module docstring)."""
    import numpy as np

    lo, hi = points.min(axis=0), points.max(axis=0)
    floor = max(MIN_SIDE, ligand_extent + PAD)
    size = np.clip(hi - lo + PAD, floor, max(MAX_SIDE, floor))
    return Box(tuple(float(v) for v in (lo + hi) / 2), tuple(float(v) for v in size))


def check_box(box: Box, protein, ligand_extent: float, ligand: str, receptor: str) -> None:
    """DockError when the box cannot hold the ligand or is far from the protein (checked in that order)."""
    if ligand_extent + FIT_MARGIN > min(box.size):
        raise DockError(
            f"ligand {ligand} ({ligand_extent:.1f} Å across) is too large for box {box.text()} of {receptor}; "
            f"make every side at least {ligand_extent + FIT_MARGIN:.0f} Å"
        )
    grown = Box(box.centre, tuple(side + 2 * REACH for side in box.size))
    if not grown.contains(protein).any():
        raise DockError(
            f"box {box.text()} is outside the protein of {receptor} (no protein atom within {REACH:.0f} Å); "
            "centre it on the pocket (see remyfold pockets) or use --pocket auto"
        )
