"""The browser UI in a real headless Chromium against ``remyfold serve`` folding with the tiny model.

Log in with a token, submit a sequence, watch the job finish (the page updates itself), see
the report's 3D view draw in the job page, download the PDB through the browser. The page is
kept as ``test-artifacts/serve-job.png``. Reuses the DevTools-pipe driver of the report test.
"""

from __future__ import annotations

import time

import pytest
from test_report_browser import ARTIFACTS, VIEWPORT, DevToolsPipe, Page, find_browser, png_pixels

from remyfold.report.viewer import ASSET_DIR, LIBRARY_FILE


def settle(page: Page, expression: str, timeout: float = 60.0):
    """Like :meth:`Page.wait_for`, riding out navigations (their context is destroyed mid-call)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = page.evaluate(expression)
            if value:
                return value
        except (RuntimeError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"page never satisfied {expression}; at {page.evaluate('location.href')}")


@pytest.fixture
def browser(tmp_path):
    binary = find_browser()
    if not (ASSET_DIR / LIBRARY_FILE).is_file():
        pytest.skip("3Dmol.js asset not installed; run scripts/install_viewer.sh")
    pipe = DevToolsPipe(binary, tmp_path / "profile")
    try:
        yield pipe
    finally:
        pipe.close()


def test_log_in_submit_watch_view_and_download(tiny_server, browser, tmp_path):
    page = Page(browser)
    page.call("Emulation.setDeviceMetricsOverride", VIEWPORT)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})

    page.call("Page.navigate", {"url": f"{tiny_server.url}/"})  # not logged in: sent to /login
    settle(page, "location.pathname === '/login' && document.readyState === 'complete'")
    page.evaluate(f"document.getElementById('token').value = {tiny_server.tokens['alice']!r}")
    page.evaluate("document.getElementById('login').click()")
    settle(page, "location.pathname === '/' && !!document.getElementById('fasta')")
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly

    page.evaluate("document.getElementById('fasta').value = '>browser_job\\nMKVLAAGIWEKL'")
    page.evaluate("document.getElementById('num_recycles').value = '0'")
    page.evaluate("document.getElementById('submit').click()")
    settle(page, "location.pathname.startsWith('/jobs/') && !!document.getElementById('state')")
    job_url = page.evaluate("location.href")

    # The status line updates itself, then the page reloads with the results once done.
    settle(page, "document.getElementById('state').textContent === 'done' && !!document.getElementById('report')", 120)
    settle(page, "(() => { const f = document.getElementById('report'); return f.contentWindow.remyfoldReport"
                 " && f.contentDocument.readyState === 'complete'; })()")  # fmt: skip
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    page.call("Emulation.setDeviceMetricsOverride", {**VIEWPORT, "height": min(height, 2600)})
    settle(page, "document.getElementById('report').contentWindow.remyfoldReport.rendered >= 1")
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    rect = page.evaluate(
        "(() => { const f = document.getElementById('report'); const fr = f.getBoundingClientRect();"
        " const c = f.contentDocument.querySelector('.viewer canvas').getBoundingClientRect();"
        " return {x: fr.x + c.x + scrollX, y: fr.y + c.y + scrollY, width: c.width, height: c.height}; })()"
    )
    pixels = png_pixels(page.screenshot(rect)).astype(int)
    drawn = (pixels < 245).any(axis=2)
    assert drawn.mean() > 0.01, "the 3D view is blank"
    assert pixels[drawn].std(axis=0).max() > 10, "the 3D view is one flat colour"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "serve-job.png").write_bytes(page.screenshot())
    # The report frame takes its content's height (one scroll bar: the page's).
    settle(page, "window.remyfoldUI.frameFitted === true")
    frame_height, content_height = page.evaluate(
        "(() => { const f = document.getElementById('report');"
        " return [f.getBoundingClientRect().height, f.contentDocument.documentElement.scrollHeight]; })()"
    )
    assert abs(frame_height - content_height) <= 4 and frame_height != 900

    page.evaluate("document.querySelector('a.download.pdb').click()")
    deadline = time.monotonic() + 30
    while not list(downloads.glob("*.pdb")) and time.monotonic() < deadline:
        time.sleep(0.2)
    [pdb] = downloads.glob("*.pdb")
    assert pdb.name == "browser_job.pdb" and "ATOM" in pdb.read_text()

    # The job list shows the job and keeps refreshing itself.
    page.call("Page.navigate", {"url": f"{tiny_server.url}/"})
    settle(page, "window.remyfoldUI && window.remyfoldUI.refreshes >= 1", 30)
    job_id = job_url.rsplit("/", 1)[1]
    assert page.evaluate(f"document.querySelector('tr[data-job=\"{job_id}\"] td.state').textContent") == "done"

    # The API documentation renders from the vendored Swagger UI under the page's strict CSP.
    page.call("Page.navigate", {"url": f"{tiny_server.url}/docs"})
    settle(page, "document.querySelectorAll('.swagger-ui .opblock').length >= 10", 30)
    assert page.console_errors() == []

    # An upload over the limit through the form: an HTML error page, not raw JSON (last: the
    # browser logs the 413 as a console error).
    big = tmp_path / "big.fa"
    big.write_bytes(b">big\n" + b"M" * (3 * 1024 * 1024))
    page.call("Page.navigate", {"url": f"{tiny_server.url}/"})
    settle(page, "!!document.getElementById('file') && document.readyState === 'complete'")
    root = page.call("DOM.getDocument")["root"]["nodeId"]
    node = page.call("DOM.querySelector", {"nodeId": root, "selector": "#file"})["nodeId"]
    page.call("DOM.setFileInputFiles", {"files": [str(big)], "nodeId": node})
    page.evaluate("document.getElementById('submit').click()")
    settle(page, "!!document.getElementById('error-title')")
    assert page.evaluate("document.getElementById('error-title').textContent") == "Too large"
    assert "limit" in page.evaluate("document.getElementById('error-message').textContent")
