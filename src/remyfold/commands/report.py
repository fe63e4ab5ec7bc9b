"""``remyfold report DIR``: an HTML report (3D views, pLDDT and PAE plots, scores) of a prediction folder."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = ("Write a self-contained HTML report (3D views, pLDDT / PAE plots, scores) of a `remyfold predict` "
        "or `remyfold dock` folder.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``report`` options to ``parser``."""
    parser.add_argument("pred_dir", metavar="DIR", type=Path,
                        help="output folder of `remyfold predict` (or of `remyfold dock`: docking only)")
    parser.add_argument(
        "--out",
        metavar="FILE|FOLDER/",
        default=None,
        help="HTML file to write, or a folder ending in / to write report.html into (default: DIR/report.html); "
        "PNG figures go beside it, in <FILE stem>_files/",
    )
    parser.add_argument(
        "--reference",
        metavar="REFDIR",
        type=Path,
        default=None,
        help="folder of reference structures <id>.pdb/.cif(.gz): score each prediction against its reference; "
        "warns when none matches (default: show DIR/<id>.compare.json results when present)",
    )
    parser.add_argument(
        "--dock",
        metavar="DOCKDIR",
        type=Path,
        default=None,
        help="show the docked poses of this `remyfold dock --out` folder (default: DIR itself when it holds "
        "dock_summary.tsv)",
    )


def run(args: argparse.Namespace) -> int:
    """Build the report and print the path of the HTML file."""
    from remyfold.io.outputs import check_file_output, is_folder_spelling
    from remyfold.report import build_report
    from remyfold.report.build import DEFAULT_NAME

    out = None
    if args.out is not None:  # "DIR/" is a folder to write report.html into
        out = Path(args.out) / DEFAULT_NAME if is_folder_spelling(args.out) else args.out
        out = check_file_output(out, example=DEFAULT_NAME)
    path = build_report(args.pred_dir, output=out, reference_dir=args.reference, dock_dir=args.dock)
    print(path)
    return 0
