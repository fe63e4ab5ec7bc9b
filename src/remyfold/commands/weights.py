"""``remyfold weights download|path``: fetch the model weights, or show where they are.

* ``remyfold weights download [REPO_ID] [--revision R] [--to DIR]`` (needs internet): into
  the Hugging Face cache (``HF_HOME`` / ``HF_HUB_CACHE``), or into the plain folder ``DIR``,
  which can be copied to an offline machine and used there with ``--weights DIR``.
* ``remyfold weights path [WEIGHTS]``: print the directory and revision that
  ``remyfold predict --weights WEIGHTS`` would use, without any network access.

Both print ``<directory>\\t<name>\\t<revision>`` on stdout.
"""

from __future__ import annotations

import argparse
import re

from remyfold.errors import InputError
from remyfold.settings import DEFAULT_WEIGHTS

HELP = "Download the model weights (`weights download`), or show which ones predict would use (`weights path`)."
#: The Hub's repository id form: [OWNER/]NAME of letters, digits, "-", "_", "." (at most 96 characters).
_REPO_ID = re.compile(r"^(?=.{1,96}$)(?:[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[\w.-]*[A-Za-z0-9])?$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Attach the ``download`` and ``path`` sub-commands to ``parser``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    download = actions.add_parser("download", help="download weights from the Hugging Face Hub (needs internet)")
    download.add_argument(
        "repo_id",
        nargs="?",
        default=DEFAULT_WEIGHTS,
        metavar="REPO_ID",
        help=f"Hub repository (default: {DEFAULT_WEIGHTS})",
    )
    download.add_argument("--revision", default=None, metavar="R", help="branch, tag or commit (default: main)")
    download.add_argument(
        "--to",
        default=None,
        metavar="DIR",
        help="download into this plain folder (to copy elsewhere and use with --weights DIR) "
        "instead of the Hugging Face cache",
    )
    path = actions.add_parser("path", help="print the weights directory predict would use (no network)")
    path.add_argument(
        "weights",
        nargs="?",
        default=DEFAULT_WEIGHTS,
        metavar="WEIGHTS",
        help=f"directory or Hub id, as for predict --weights (default: {DEFAULT_WEIGHTS})",
    )


def run(args: argparse.Namespace) -> int:
    """Download or locate the weights and print ``directory<TAB>name<TAB>revision``."""
    from pathlib import Path

    from remyfold.io.outputs import prepare_folder_output, remove_created_dirs
    from remyfold.weights import download_weights, resolve_weights

    if args.action == "download":
        if not _REPO_ID.match(args.repo_id):
            raise InputError(f"{args.repo_id!r} is not a Hugging Face repository id; give OWNER/NAME, "
                             f"e.g. {DEFAULT_WEIGHTS}")  # fmt: skip
        created = prepare_folder_output(Path(args.to).expanduser(), "--to") if args.to else []
        try:
            resolved = download_weights(args.repo_id, revision=args.revision, to=args.to)
        except BaseException:
            remove_created_dirs(created)  # only folders this run created, and only when still empty
            raise
    else:
        resolved = resolve_weights(args.weights, local_files_only=True)
    print(f"{resolved.directory}\t{resolved.name}\t{resolved.revision}")
    return 0
