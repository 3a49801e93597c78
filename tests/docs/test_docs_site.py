"""The documentation site: generated from the published tables, built with ``mkdocs build --strict``, and opened
with a report in a real headless browser (Chromium, driven over the Chrome DevTools Protocol).

The site is built in a temporary copy of ``docs/`` whose ``results/`` pages are generated afresh by
:func:`rlbench.reporting.site.write_site` from the committed tables and figures, so the test checks the generator
and the build together, whether or not the generated pages are committed, and never writes into the repository.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from rlbench.config.params import load_params
from rlbench.reporting.report import render_html
from rlbench.reporting.site import field_docs, write_site

ROOT = Path(__file__).resolve().parents[2]
REPORT_SUITE = "default"
"""The published suite whose report the browser opens (rendered afresh from its committed Markdown and figures)."""
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = ("Chromium is needed to test the documentation site in a headless browser and was not found "
                f"(looked for {', '.join(BROWSERS)} on PATH). Install it: `apt-get install chromium` (Debian, "
                "Ubuntu: `apt-get install chromium-browser`), `brew install --cask chromium` (macOS); or name a "
                "Chrome-compatible browser in RLBENCH_CHROMIUM.")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A copy of docs/ with its generated pages written afresh, built by ``mkdocs build --strict``."""
    work = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "docs", work / "docs", ignore=shutil.ignore_patterns("results"))
    shutil.copyfile(ROOT / "mkdocs.yml", work / "mkdocs.yml")
    pages = write_site(load_params(ROOT / "params.yaml"), ROOT, work / "docs")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f",
                            str(work / "mkdocs.yml"), "-d", str(work / "site")],
                           capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}\n{build.stderr}"
    return work, pages


def test_generated_pages_copy_the_published_tables_and_figures(built):
    work, pages = built
    params = load_params(ROOT / "params.yaml")
    names = {page.name for page in pages}
    assert {f"{suite}.md" for suite in params.pipeline.publish} | {"index.md", "suites.md", "params.md"} <= names
    default = (work / "docs" / "results" / "default.md").read_text()
    leaderboard = (ROOT / "results" / "default" / "leaderboard.md").read_text()
    table = [line for line in leaderboard.splitlines() if line.startswith("|")]
    assert table and "\n".join(table) in default, "the leaderboard table is copied verbatim, not retyped"
    figure = work / "docs" / "results" / "default" / "interval_estimates.png"
    assert figure.read_bytes() == (ROOT / "reports" / "default" / "interval_estimates.png").read_bytes()
    assert default.index("interval_estimates.png") < default.index("learning_curves.png"), "main figure first"
    suites = (work / "docs" / "results" / "suites.md").read_text()
    for name, suite in params.suites.items():  # every suite of params.yaml, published or not, says which
        assert f"| `{name}` | {'yes' if name in params.pipeline.publish else 'no'} |" in suites
    reference = (work / "docs" / "results" / "params.md").read_text()
    assert "| `eval_episodes` | Greedy/deterministic episodes per evaluation. |" in reference


def test_params_reference_documents_every_field():
    from rlbench.config.params import PipelineConfig, SuiteConfig

    for cls in (PipelineConfig, SuiteConfig):
        docs = dict(field_docs(cls))
        assert set(docs) == set(cls.__dataclass_fields__) and all(docs.values()), f"{cls.__name__}: undocumented"


def test_cli_reference_names_every_command_and_only_those():
    """docs/reference/cli.md has one table row per command of the CLI (`rlbench --help` lists them): none missing,
    none that no longer exists."""
    import re

    import typer

    from rlbench.cli import app

    commands = set(typer.main.get_command(app).commands)
    page = (ROOT / "docs" / "reference" / "cli.md").read_text()
    documented = set(re.findall(r"^\| `rlbench ([a-z-]+)", page, re.M))
    assert documented == commands, f"missing: {sorted(commands - documented)}, gone: {sorted(documented - commands)}"


def test_site_pages_and_report_render_in_a_headless_browser(built, tmp_path):
    """Every generated results page, the home page and a published report, in Chromium (about 25 s on a busy
    2-core machine: one browser, 18 pages, most with a dozen figures)."""
    work, pages = built
    browser = os.environ.get("RLBENCH_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    if browser is None:
        pytest.fail(INSTALL_HINT)
    # The report as the renderer writes it today, from a published suite's Markdown and figures.
    report_dir = ROOT / "reports" / REPORT_SUITE
    served = work / "site"
    (served / "report.html").write_text(render_html((report_dir / "report.md").read_text(), report_dir, "report"))
    urls = ["index.html", "results/index.html", "report.html"] + [
        f"results/{page.stem}/index.html" for page in pages if page.stem != "index"]
    handler = functools.partial(_QuietHandler, directory=str(served))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server, _Chromium(browser, tmp_path) as page:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        problems = []
        for url in urls:
            seen = page.open(base + url)
            problems += [f"{url}: {problem}" for problem in _problems(seen)]
        server.shutdown()
    assert not problems, "\n".join(problems)


def _problems(seen: dict) -> list[str]:
    """What is wrong with a page the browser showed: not loaded, a broken image, a console error, a page wider
    than the window, a blank screenshot."""
    state = seen["state"]
    out = []
    if state["ready"] != "complete":
        out.append(f"document not loaded ({state['ready']})")
    out += [f"image did not load: {image}" for image in state["broken"]]
    if state["images"] == 0 and state["expect_images"]:
        out.append("no image on a page that shows figures")
    out += [f"console: {error}" for error in seen["errors"]]
    if state["scroll_width"] > state["client_width"] + 1:
        out.append(f"page wider than the window ({state['scroll_width']} > {state['client_width']} px): "
                   f"a table or figure does not fit")
    image = Image.open(io.BytesIO(seen["screenshot"])).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24)
    background = max(colours)[0] / (image.width * image.height)
    if len(colours) < 2 or background > 0.995:
        out.append(f"blank screenshot ({len(colours)} colours, {background:.1%} background)")
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the test's output is its assertions
        pass


CHECK = """JSON.stringify({
  ready: document.readyState,
  images: document.images.length,
  expect_images: !!document.querySelector('a[href$=".png"], img, h2#figures, h2#decision'),
  broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120)),
  scroll_width: document.documentElement.scrollWidth,
  client_width: document.documentElement.clientWidth,
})"""
"""What the test reads off a loaded page."""


class _Chromium:
    """Headless Chromium with one page, driven over the Chrome DevTools Protocol (a websocket): open a URL, collect
    console errors, exceptions and failed loads, read the page's state, take a screenshot."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.binary, self.profile, self.next_id, self.events = binary, profile, 0, []

    def __enter__(self) -> _Chromium:
        import websocket

        self.process = subprocess.Popen(
            [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
             "--window-size=1280,900", "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port_file, deadline = self.profile / "DevToolsActivePort", time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.binary} did not start: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        target = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(event.get("method") == method for event in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.socket.recv()))

    def open(self, url: str) -> dict:
        self.events = []
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        state = json.loads(self.call("Runtime.evaluate", expression=CHECK, returnByValue=True)["result"]["value"])
        screenshot = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        errors = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(params["exceptionDetails"].get("exception", {}).get("description")
                              or params["exceptionDetails"].get("text"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(" ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(f"{params['entry']['text']} {params['entry'].get('url', '')}".strip())
        return {"state": state, "errors": errors, "screenshot": screenshot}
