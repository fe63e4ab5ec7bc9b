"""The report page in a real headless Chromium, driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe``: DevTools messages are
NUL-terminated JSON on file descriptors 3 (to the browser) and 4 (from it), so
no websocket client is needed. WebGL runs on SwiftShader (software). The test
checks: no console errors or exceptions, every 3D viewer drew a non-uniform,
pLDDT-coloured canvas, every plot image decoded, text from files stayed text.
A full-page screenshot is kept as ``test-artifacts/report.png``.

Skipped when no ``chromium`` / ``chromium-browser`` / ``google-chrome`` is on
PATH (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from report_fixtures import SUMMARY_HEADER, make_prediction_folder, summary_row, write_prediction

from remyfold.report.viewer import ASSET_DIR, LIBRARY_FILE

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)
VIEWPORT = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}


class DevToolsPipe:
    """Minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, user_data_dir: Path):
        # The child's ends are moved to fds >= 10 (close-on-exec) so that placing
        # them on 3 and 4 in the child cannot overwrite one with the other.
        child_in, self._to_browser = os.pipe()
        self._from_browser, child_out = os.pipe()
        child_in, child_out = (self._high_fd(fd) for fd in (child_in, child_out))

        def wire_fds() -> None:  # runs in the child; dup2 makes 3 and 4 inheritable
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"]
        # close_fds=False: every other descriptor Python opened is close-on-exec already.
        self.process = subprocess.Popen(
            args,
            preexec_fn=wire_fds,  # noqa: PLW1509 (the test process starts no threads)
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer, self._next_id, self.events = b"", 0, []

    @staticmethod
    def _high_fd(fd: int) -> int:
        """A close-on-exec duplicate of ``fd`` numbered 10 or more; ``fd`` is closed."""
        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(fd)
        return high

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise TimeoutError("no DevTools message from Chromium in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 20.0):
        """Send one command and return its result; events seen meanwhile go to ``self.events``."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 20.0) -> dict:
        """Block until an event named ``method`` arrives (or was already seen)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read_message(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


class Page:
    """One browser tab attached in flattened-session mode."""

    def __init__(self, browser: DevToolsPipe):
        self.browser = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            self.call(domain)

    def call(self, method: str, params: dict | None = None, timeout: float = 20.0):
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"page never satisfied {expression}")

    def screenshot(self, clip: dict | None = None) -> bytes:
        params = {"format": "png", "captureBeyondViewport": clip is not None}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", params, timeout=30)["data"])

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries of this tab."""
        errors = []
        for event in self.browser.events:
            method, params = event.get("method"), event.get("params", {})
            if event.get("sessionId") != self.session:
                continue
            if method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params["exceptionDetails"])[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(f"{params['entry'].get('url', '')}: {params['entry'].get('text')}")
        return errors


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(f"no headless browser found ({', '.join(BROWSERS)}); apt-get install chromium to run this test")


def png_pixels(data: bytes) -> np.ndarray:
    """RGB pixels ``[H, W, 3]`` (uint8) of a PNG."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def open_report(folder: Path, profile: Path) -> tuple[DevToolsPipe, Page]:
    """Build the report of ``folder`` and load it in a fresh headless Chromium tab."""
    binary = find_browser()
    if not (ASSET_DIR / LIBRARY_FILE).is_file():
        pytest.skip("3Dmol.js asset not installed; run scripts/install_viewer.sh")
    from remyfold.report import build_report

    html_path = build_report(folder)
    browser = DevToolsPipe(binary, profile)
    try:
        page = Page(browser)
        page.call("Emulation.setDeviceMetricsOverride", VIEWPORT)
        page.call("Page.navigate", {"url": html_path.resolve().as_uri()})
        browser.wait_event("Page.loadEventFired")
    except BaseException:
        browser.close()
        raise
    return browser, page


@pytest.fixture(scope="module")
def report_page(tmp_path_factory):
    """The synthetic report loaded in Chromium, with every viewer drawn."""
    folder = make_prediction_folder(tmp_path_factory.mktemp("pred"))
    browser, page = open_report(folder, tmp_path_factory.mktemp("chromium-profile"))
    try:
        # A viewport as tall as the page puts every (lazily made) viewer on screen.
        height = int(page.evaluate("document.documentElement.scrollHeight"))
        page.call("Emulation.setDeviceMetricsOverride", {**VIEWPORT, "height": height})
        n_viewers = page.evaluate("document.querySelectorAll('.viewer').length")
        page.wait_for(f"window.remyfoldReport && window.remyfoldReport.rendered >= {n_viewers}")
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "report.png").write_bytes(page.screenshot())
        yield page
    finally:
        browser.close()


def test_page_has_no_console_errors(report_page):
    assert report_page.console_errors() == []


def test_every_viewer_draws_a_plddt_coloured_model(report_page):
    rects = report_page.evaluate(
        "Array.from(document.querySelectorAll('.viewer canvas')).map(c => {"
        " const r = c.getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; })"
    )
    assert len(rects) == 3
    for rect in rects:
        pixels = png_pixels(report_page.screenshot(rect)).astype(int)
        drawn = (pixels < 245).any(axis=2)
        assert drawn.mean() > 0.01, "the viewer canvas is blank"
        red, blue = pixels[..., 0], pixels[..., 2]
        # The helix spans all pLDDT bands: blue (>70) and orange/yellow (<70) parts must both show.
        assert ((blue - red > 60) & drawn).sum() > 50
        assert ((red - blue > 60) & drawn).sum() > 50


def test_plots_and_table_are_present(report_page):
    images = report_page.evaluate(
        "Array.from(document.querySelectorAll('figure.plot img')).map(i => [i.complete, i.naturalWidth])"
    )
    # pLDDT and PAE of three records, and the dimer's chain-pair matrices
    assert len(images) == 7 and all(complete and width > 100 for complete, width in images)
    assert report_page.evaluate("document.querySelectorAll('table.summary tbody tr').length") == 4


def test_text_from_files_stays_text(report_page):
    headings = report_page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert "odd<b>&'\"id" in headings
    errors = report_page.evaluate("Array.from(document.querySelectorAll('td.error')).map(td => td.textContent)")
    assert '"X" sequence has <script>alert(1)</script> letters' in errors
    assert report_page.evaluate("document.scripts.length") == 3


@pytest.mark.slow
def test_scrolling_many_records_keeps_few_live_viewers(tmp_path):
    """More records than MAX_LIVE (8): off-screen viewers are released and rebuilt on return."""
    rows = [summary_row(f"rec{i}", write_prediction(tmp_path, f"rec{i}", [("A", "MKVL" * 4)])) for i in range(9)]
    (tmp_path / "summary.tsv").write_text(SUMMARY_HEADER + "".join(rows))
    browser, page = open_report(tmp_path, tmp_path / "chromium-profile")
    try:
        for index in [*range(9), 0]:
            page.evaluate(f"document.querySelectorAll('.viewer')[{index}].scrollIntoView()")
            page.wait_for(f"document.querySelectorAll('.viewer')[{index}].dataset.state === 'live'")
        assert page.evaluate("window.remyfoldReport.live.length") == 8
        assert page.evaluate("document.querySelectorAll('.viewer[data-state=released]').length") == 1
        assert page.evaluate("window.remyfoldReport.rendered") > 9  # the first viewer was rebuilt
        assert page.console_errors() == []
    finally:
        browser.close()
