"""The 3Dmol.js viewer library and safe inlining of scripts and data into HTML.

The report inlines the minified 3Dmol.js build (with its BSD licence notice)
so the page works offline. The library is not kept in git: it is pinned in
``package.json`` / ``package-lock.json`` and copied into this package's
``assets/`` folder by ``scripts/install_viewer.sh``. Without it the report is
not written (a report without its 3D view would silently lose a requested
feature); the error says how to install it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from remyfold.errors import InputError

ASSET_DIR = Path(__file__).resolve().parent / "assets"
LIBRARY_FILE = "3Dmol-min.js"
LICENSE_FILE = "3Dmol-LICENSE.txt"
VERSION_FILE = "3Dmol-VERSION.txt"

# An inline <script> ends at the first "</script" (any case); "<!--" can switch
# the HTML parser into an escaped state. Both are neutralised by escaping "<".
_SCRIPT_BREAKERS = re.compile(r"<(/script|!--)", re.IGNORECASE)


@dataclass(frozen=True)
class ViewerLibrary:
    """The viewer's JavaScript source, licence text and version string."""

    source: str
    license: str
    version: str

    def inline(self) -> str:
        """The library as the body of an inline ``<script>``, licence notice first."""
        notice = self.license.replace("*/", "* /")
        return f"/*! 3Dmol.js {self.version}\n{notice}\n*/\n{script_safe(self.source)}"


def load_viewer_library(asset_dir: Path | None = None) -> ViewerLibrary:
    """Read the 3Dmol.js build in ``asset_dir`` (default :data:`ASSET_DIR`), or raise :class:`InputError`."""
    asset_dir = ASSET_DIR if asset_dir is None else Path(asset_dir)
    library = asset_dir / LIBRARY_FILE
    if not library.is_file():
        raise InputError(
            f"3Dmol.js viewer not installed ({library} missing); run scripts/install_viewer.sh "
            "in the remyfold source folder (needs npm), then run the report again"
        )
    try:
        source = library.read_text(encoding="utf-8")
        license_text = _read_optional(asset_dir / LICENSE_FILE)
        version = _read_optional(asset_dir / VERSION_FILE).strip() or "unknown version"
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(
            f"cannot read the 3Dmol.js viewer in {asset_dir}: {err}; re-run scripts/install_viewer.sh"
        ) from None
    return ViewerLibrary(source=source, license=license_text, version=version)


def _read_optional(path: Path) -> str:
    """Text of ``path``, or ``""`` when it does not exist."""
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def script_safe(source: str) -> str:
    """JavaScript text that cannot end its inline ``<script>`` element early.

    ``<`` before ``/script`` or ``!--`` becomes ``<\\`` + ``/script``: the same
    text inside JS strings, regular expressions and comments.
    """
    return _SCRIPT_BREAKERS.sub(lambda m: "<\\" + m.group(1), source)


def json_for_script(value) -> str:
    """JSON text safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc. (still the same JSON), so
    no content of a structure file or id can close the element.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text
