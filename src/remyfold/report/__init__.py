"""HTML + PNG report of a ``remyfold predict`` output folder (``remyfold report``).

:func:`build_report` is the entry point; see :mod:`remyfold.report.build` for
the files it writes. Plotting (matplotlib) is imported only when a report is
built.
"""

from remyfold.report.build import build_report

__all__ = ["build_report"]
