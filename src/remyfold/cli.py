"""The ``remyfold`` command line: one sub-command per module.

Each command module exposes ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``. Command modules keep heavy imports (torch, gemmi) inside
``run`` so that ``remyfold --help`` and argument errors stay instant.

A module may list in ``NEGATIVE_VALUE_OPTIONS`` the options whose value can start with "-"
(``dock --box -4.9,...``): the CLI passes them to argparse as ``--box=-4.9,...``.

User-caused errors (:class:`remyfold.errors.RemyfoldError`) are printed as one
line on stderr, ``remyfold: error: ...``, with a non-zero exit and no traceback.
A reader that closes the pipe early (``remyfold compare ... --json | head``) ends
the command quietly with exit status 141 (128 + SIGPIPE), as other CLIs do.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from remyfold._version import __version__
from remyfold.errors import RemyfoldError

# name -> module implementing the command (imported when the parser is built).
COMMANDS: dict[str, str] = {
    "predict": "remyfold.commands.predict",
    "weights": "remyfold.commands.weights",
    "compare": "remyfold.commands.compare",
    "report": "remyfold.commands.report",
    "targets": "remyfold.commands.targets",
    "pockets": "remyfold.commands.pockets",
    "dock": "remyfold.commands.dock",
    "fetch": "remyfold.commands.fetch",
    "serve": "remyfold.commands.serve",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every sub-command attached."""
    parser = argparse.ArgumentParser(
        prog="remyfold",
        description="Protein structure prediction (ESMFold architecture) for remyelination research.",
    )
    parser.add_argument("--version", action="version", version=f"remyfold {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.run)
    return parser


def _negative_values_joined(argv: list[str]) -> list[str]:
    """``--box -4.9,...`` as ``--box=-4.9,...`` for the options a command lists in ``NEGATIVE_VALUE_OPTIONS``.

    argparse takes a value starting with "-" for an option unless it is a plain negative number.
    """
    module = importlib.import_module(COMMANDS[argv[0]]) if argv and argv[0] in COMMANDS else None
    options = getattr(module, "NEGATIVE_VALUE_OPTIONS", ())
    joined, i = [], 0
    while i < len(argv):
        if argv[i] in options and i + 1 < len(argv) and re.match(r"-[\d.]", argv[i + 1]):
            joined.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            joined.append(argv[i])
            i += 1
    return joined


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``remyfold`` console script."""
    parser = build_parser()
    args = parser.parse_args(_negative_values_joined(list(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args._run(args) or 0)
    except RemyfoldError as err:
        print(f"remyfold {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"remyfold {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """Quiet end after the reader of stdout went away: point stdout at /dev/null so that the
    interpreter's final flush finds no closed pipe either; return 128 + SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
