"""The docs site: it builds with --strict, its math is typeset, and it needs no network.

These tests build the whole site (about ten seconds) and open its pages in headless
Chromium, so they run in the second command of .ci/run (``pytest -m docs``), not in
the README's quick one. They skip, naming what to install, only where MkDocs or
Chromium is missing; .ci/run installs both.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytestmark = pytest.mark.docs

# The chapter pages, each with key equations and the source beside them.
CHAPTERS = ["ch01-06-tabular", "ch07", "ch08", "ch09", "ch10-parallel", "ch10-ddpg",
            "ch10-dqn-variants"]
# Every algorithm and chapter page, in one layout.
ALGORITHM_PAGES = [*CHAPTERS, "ppo", "td3", "sac"]
SECTIONS = ["Quick facts", "Key equations", "Pseudocode", "Implementation details",
            "What the tests prove", "Results"]


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The site, built once from the working tree with ``mkdocs build --strict``."""
    pytest.importorskip("mkdocs", reason="MkDocs is not installed: pip install -e '.[docs]'")
    pytest.importorskip("material", reason="Material for MkDocs is not installed: "
                                           "pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return out


def pages(site):
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")


def test_every_page_of_the_nav_is_built(site):
    built = {p.relative_to(site).as_posix() for p in pages(site)}
    for name in ["index", "getting-started", "engine-from-zero", "engine", "training",
                 "notebooks", *CHAPTERS]:
        assert f"{name}.html" in built
    assert any(name.startswith("api/") for name in built)


def test_notebook_pages_hold_the_notebooks_with_their_outputs(site):
    """docs/hooks.py puts each stored .ipynb, outputs and figures, in its page."""
    engine = (site / "engine-from-zero.html").read_text()
    assert 'id="step-3-backward-in-generation-order"' in engine  # a Markdown cell
    assert "step 6, W after 200 SGD steps: matches minirl" in engine
    notebooks = sorted((ROOT / "notebooks").glob("ch*.ipynb"))
    assert len(notebooks) >= 8
    for notebook in [ROOT / "notebooks" / "engine_from_zero.ipynb", *notebooks]:
        page = "engine-from-zero.html" if notebook.stem == "engine_from_zero" \
            else f"notebooks/{notebook.stem}.html"
        html = (site / page).read_text()
        figures = sum(1 for cell in json.loads(notebook.read_text())["cells"]
                      for output in cell.get("outputs", [])
                      if {"image/png", "image/svg+xml"} & set(output.get("data", {})))
        assert figures and html.count('<img alt="figure" src="data:image/') == figures, page
        assert "google.colab" not in html  # the install cell is the notebook's, not the page's


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_page_shows_the_source_beside_its_formulas(site, chapter):
    html = (site / f"{chapter}.html").read_text()
    sources = re.findall(r'<details class="mkdocstrings-source" open>\s*<summary>'
                         r'<code>(minirl\.[\w.]+)</code> in <code>minirl/', html)
    assert sources, f"{chapter}: no source included"
    formulas = html.count('class="arithmatex"')
    assert formulas >= len(sources), f"{chapter}: {formulas} formulas, {len(sources)} sources"


@pytest.mark.parametrize("name", ALGORITHM_PAGES)
def test_each_algorithm_page_has_the_one_layout_and_no_run_log(name):
    """The sections in one order, the results as a link to the results pages, and no
    table of per-seed numbers typed into the page (those come from data files)."""
    text = (DOCS / f"{name}.md").read_text()
    headings = [h.split(" (")[0] for h in re.findall(r"^## (.+)$", text, re.M)]
    assert [h for h in headings if h in SECTIONS] == SECTIONS, f"{name}: {headings}"
    results = text[text.index("## Results"):]
    assert "](results/index.md" in results, f"{name}: results do not link the results pages"
    seeds_row = re.compile(r"^\|.*seed.*\|$", re.M | re.I)
    numbers_row = re.compile(r"^\|(?:[^|]*\|)*\s*[−-]?\d+(?:\.\d+)?\s*,\s*[−-]?\d+(?:\.\d+)?"
                             r"\s*,\s*[−-]?\d+", re.M)
    assert not numbers_row.search(text), f"{name}: a table row of per-seed numbers"
    assert not [row for row in seeds_row.findall(text) if re.search(r"\| *[−-]?\d{2,}", row)], \
        f"{name}: a table of per-seed numbers"
    assert len(text.splitlines()) <= 320, f"{name}: {len(text.splitlines())} lines"


def test_every_included_function_exists():
    """Each `::: minirl.x.f` names a function of today's code (a wrong name would only
    show as a missing block)."""
    import importlib
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"^(?:    )*::: (minirl[\w.]+)", page.read_text(), re.M):
            parts = target.split(".")
            for i in range(len(parts), 0, -1):
                try:
                    obj = importlib.import_module(".".join(parts[:i]))
                    break
                except ImportError:
                    continue
            for attribute in parts[i:]:
                assert hasattr(obj, attribute), f"{page.name}: {target}"
                obj = getattr(obj, attribute)


def test_no_include_is_left_as_text(site):
    """A `:::` line indented by other than a multiple of four spaces is printed, not
    included."""
    for page in pages(site):
        assert "::: minirl" not in page.read_text(), page.relative_to(site)


def test_the_readme_starts_with_the_two_commands_not_a_results_log():
    """Its first screen says what minirl is and gives the command to train and the one
    to test; no paragraph of per-seed returns."""
    lines = (ROOT / "README.md").read_text().splitlines()
    first_screen = "\n".join(lines[:60])
    assert "minirl train dqn" in first_screen and "python -m pytest" in first_screen
    assert not re.search(r"(?:\d+(?:\.\d+)?, ){3,}", first_screen), "per-seed numbers"


def test_no_page_links_a_script_style_font_or_image_from_the_web(site):
    external = re.compile(r'<(?:script|img|iframe|source)\b[^>]*\bsrc="(?:https?:)?//'
                          r'|<link\b[^>]*\bhref="(?:https?:)?//')
    for page in pages(site):
        match = external.search(page.read_text())
        assert match is None, f"{page.relative_to(site)}: {match.group(0)}"
    for css in site.rglob("*.css"):
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", css.read_text()), css
        assert "@import" not in css.read_text(), css


def test_formulas_are_latex_in_one_style():
    """Math is LaTeX between \\( \\) or $ $, not Unicode in code spans; and no \\|
    for 'given' in it (KaTeX, like LaTeX, draws \\| as a double bar)."""
    greek_in_code = re.compile(r"`[^`\n]*[γθπΣ∇‖δλεσμτφΦαβρ∂√][^`\n]*`")
    for page in [*DOCS.rglob("*.md"), ROOT / "README.md"]:
        text = page.read_text()
        for formula in re.findall(r"\$([^$\n]+)\$|\\\((.+?)\\\)", text):
            tex = "".join(formula)
            assert "\\|" not in tex, f"{page.name}: {tex!r} (write \\mid for |)"
        match = greek_in_code.search(text)
        assert match is None, f"{page.name}: formula in a code span, {match.group(0)}"


# -- headless Chromium, driven over the DevTools protocol on a pipe --------------------

class Chromium:
    """Chromium with ``--remote-debugging-pipe``: JSON messages on fds 3 and 4.

    Every request the page makes is recorded (Network.requestWillBeSent); host
    resolution is mapped to nothing, so a request to the web could not succeed anyway.
    """

    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="minirl-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # the protocol's fixed descriptors in the child
            # Move both ends above 4 first, so neither dup2 below overwrites the other.
            read_end = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--remote-debugging-pipe",
             f"--user-data-dir={self.profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-default-apps", "about:blank"],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer, self.next_id, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Network", "Page", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def _read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=False, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method):
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read())

    def open(self, url):
        """Load ``url`` and wait for its load event."""
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def requested(self):
        """Every URL the page has requested since ``open``, late fonts included."""
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    def close(self):
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed: apt-get install chromium")
    chromium = Chromium(executable)
    yield chromium
    chromium.close()


# Counts once KaTeX has run: the formulas arithmatex left, those typeset, and errors.
MATH_STATE = """new Promise(resolve => {
  const count = () => ({
    formulas: document.querySelectorAll('.arithmatex').length,
    typeset: document.querySelectorAll('.arithmatex .katex').length,
    errors: Array.from(document.querySelectorAll('.katex-error'), e => e.title),
    katex: typeof katex !== 'undefined',
  });
  let tries = 0;
  const poll = () => {
    const c = count();
    if (c.typeset >= c.formulas || ++tries > 50) resolve(c); else setTimeout(poll, 100);
  };
  poll();
})"""


def test_every_formula_is_typeset_by_katex_from_the_site_itself(site, browser):
    typeset_pages = 0
    for page in pages(site):
        name = page.relative_to(site).as_posix()
        browser.open(page.as_uri())
        state = browser.evaluate(MATH_STATE)
        outside = [u for u in browser.requested()
                   if not u.startswith(("file://", "data:", "blob:"))]
        assert outside == [], f"{name} fetched from outside the site: {outside}"
        assert state["katex"], f"{name}: KaTeX did not load"
        assert state["errors"] == [], f"{name}: KaTeX could not parse {state['errors']}"
        assert state["typeset"] == state["formulas"], f"{name}: {state}"
        typeset_pages += state["formulas"] > 0
    # Every chapter page and the engine pages have formulas.
    assert typeset_pages >= len(CHAPTERS) + 2


def test_the_katex_fonts_load_from_the_site(site, browser):
    browser.open((site / "ch09.html").as_uri())
    loaded = browser.evaluate(
        "document.fonts.ready.then(() => Array.from(document.fonts)"
        ".filter(f => f.family.startsWith('KaTeX') && f.status === 'loaded').length)")
    assert loaded > 0
    fonts = [u for u in browser.requested() if "/assets/katex/fonts/" in u]
    assert fonts and all(u.startswith((site / "assets").as_uri()) for u in fonts)
