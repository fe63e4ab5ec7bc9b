"""Stand-ins for RCSB and AlphaFold DB on 127.0.0.1, for the ``fetch`` tests and ids given to ``pockets``/``dock``.

The stub serves a real structure, 1A28 (progesterone receptor, ``examples/1a28.pdb.gz``),
converted to mmCIF with gemmi: as RCSB's ``/download/1A28.cif.gz`` and as the AlphaFold DB model
of P06401 (prediction JSON whose ``cifUrl`` points back to the stub). An HTML error page with
status 200 for PDB id 9HTM, P12345's model and Q11111's prediction JSON (Q22222's is a
JSON object, not the list of predictions); 404 for everything else. Fixtures:
``structure_stub`` (the base URL; the environment points remyfold's fetch and cache at it and at
``tmp_path``) and ``structures_offline`` (both databases at a port with nothing listening).
"""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import threading
from pathlib import Path

import gemmi
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "1a28.pdb.gz"
HTML = b"<!DOCTYPE html><html><body>Service temporarily unavailable</body></html>"


@pytest.fixture(scope="module")
def stub_mmcif() -> bytes:
    """1A28 as mmCIF text (bytes)."""
    structure = gemmi.read_structure(str(EXAMPLE))
    structure.setup_entities()
    return structure.make_mmcif_document().as_string().encode()


class Stub(http.server.BaseHTTPRequestHandler):
    """RCSB ``/download/ID.cif.gz`` and AlphaFold DB ``/api/prediction/ACC`` + ``/files/...``; counts requests."""

    hits: list[str] = []
    cif: bytes = b""

    def do_GET(self):  # noqa: N802 (http.server API)
        self.hits.append(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        models = {"P06401": "/files/AF-P06401-F1-model_v6.cif", "P12345": "/files/AF-P12345-F1-model_v6.cif"}
        body = {
            "/download/1A28.cif.gz": gzip.compress(self.cif),
            "/download/9HTM.cif.gz": HTML,
            "/files/AF-P06401-F1-model_v6.cif": self.cif,
            "/files/AF-P12345-F1-model_v6.cif": HTML,
            "/api/prediction/Q11111": HTML,
            "/api/prediction/Q22222": b'{"detail": "moved"}',
            **{f"/api/prediction/{acc}": json.dumps([{"entryId": f"AF-{acc}-F1", "uniprotAccession": acc,
                                                        "cifUrl": base + path}]).encode()
               for acc, path in models.items()},
        }.get(self.path)  # fmt: skip
        self.send_response(404 if body is None else 200)
        self.end_headers()
        self.wfile.write(b"Not Found" if body is None else body)

    def log_message(self, *args):
        pass


@pytest.fixture
def structure_stub(stub_mmcif, tmp_path, monkeypatch):
    """The stub's base URL; REMYFOLD_RCSB_URL, REMYFOLD_AFDB_URL and REMYFOLD_CACHE point at it / tmp_path."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Stub.hits, Stub.cif = [], stub_mmcif
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("REMYFOLD_RCSB_URL", f"{base}/download")
    monkeypatch.setenv("REMYFOLD_AFDB_URL", base)
    monkeypatch.setenv("REMYFOLD_CACHE", str(tmp_path / "cache"))
    yield base
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def structures_offline(tmp_path, monkeypatch):
    """Both databases at a port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("REMYFOLD_RCSB_URL", f"http://127.0.0.1:{port}/download")
    monkeypatch.setenv("REMYFOLD_AFDB_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("REMYFOLD_CACHE", str(tmp_path / "cache"))
