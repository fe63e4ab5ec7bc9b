"""Command-line sub-commands; see :mod:`remyfold.cli`."""
