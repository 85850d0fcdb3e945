"""The documentation site: built with ``mkdocs build --strict`` and read in headless Chromium.

The site (mkdocs.yml, docs/) is built into a temporary folder with the running interpreter: a warning fails the
build, and so does a snippet (``--8<--``) whose file is missing. Then: every internal link and anchor of the
built pages resolves (devtools/check_site_links.py, as ``make docs`` runs it); each snippet's file exists and the
built page shows its code; the CLI's help stands where the pages ask for it; no docstring's Sphinx role shows as
text; and, served over HTTP on a loopback port, the home page and a how-to open in Debian's Chromium (driven by
Playwright) with their heading and the example DAG's code visible, no request of theirs failing. Screenshots go to
``$TEST_ARTIFACTS/docs-site`` (default ``test-artifacts/docs-site``).

The docs extra (mkdocs-material, mkdocstrings, pymdown-extensions) is what this needs: ``make docs`` installs it, and
``make test`` runs ``make docs`` first. Without it (the other virtualenvs, ``pip install -e .[dev]``) it skips.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from devtools.check_site_links import broken_links, served_under
from devtools.docs_hooks import RENDERED_ROLE
from tests.system.chromium import ARTIFACTS_ROOT, chromium

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ARTIFACTS = ARTIFACTS_ROOT / "docs-site"
#: The how-to opened in the browser; it includes an example DAG by ``--8<--``.
HOW_TO = "how-to/release-a-node.md"
#: The CLI's help markers (devtools/docs_hooks.py) and the line each becomes.
CLI_PAGE = "reference/cli.md"
CLI_USAGE = {
    "airflow_provider_dataworks.cli.plan": "usage: python -m airflow_provider_dataworks.cli.plan",
    "airflow_provider_dataworks.cli.check": "usage: python -m airflow_provider_dataworks.cli.check",
    "airflow_provider_dataworks.emulator.cli": "usage: dataworks-emulator",
}

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None,
    reason="the docs extra is not installed here (mkdocs, mkdocs-material): `make docs` installs it into .venv and "
    "`make test` runs `make docs` first; elsewhere `pip install -e '.[docs]'`",
)

SNIPPET_LINE = re.compile(r'^\s*-{1,}8<-{1,}\s+"(?P<spec>[^"]+)"\s*$')
SECTION_MARK = re.compile(r"-{1,}8<-{1,}\s*\[(?P<kind>start|end):(?P<name>[\w-]+)\]")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built --strict into a temporary folder (as ``make docs`` builds it into site/)."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return out


def built_page(site: Path, source: str) -> Path:
    """The HTML file that docs/``source`` builds to (MkDocs' directory URLs)."""
    stem = source.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return site / f"{stem}.html"
    return site / stem / "index.html"


def snippets() -> list[tuple[str, str, bool]]:
    """Every ``--8<-- "file[:section]"`` of the site's pages (block form included), as (page, spec, in a fenced
    code block)."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        in_block, fence = False, ""
        for line in page.read_text(encoding="utf-8").splitlines():
            opened = re.match(r"\s*(`{3,}|~{3,})", line)
            if opened and not fence:
                fence = opened.group(1)
            elif opened and line.strip() == fence:
                fence = ""
            if re.fullmatch(r"\s*-{1,}8<-{1,}\s*", line):
                in_block = not in_block
                continue
            match = SNIPPET_LINE.match(line)
            spec = match["spec"] if match else line.strip() if in_block and not line.strip().startswith(";") else ""
            if spec:
                found.append((page.relative_to(DOCS).as_posix(), spec, bool(fence)))
    return found


def included_text(spec: str) -> tuple[Path, str]:
    """The file a snippet spec names (from the repository's root, mkdocs.yml's base_path) and the text it brings:
    the whole file, a ``:section``, or ``:start:end`` lines; section marker lines left out, as pymdownx does."""
    path_part, _, selector = spec.partition(":")
    path = ROOT / path_part
    assert path.is_file(), f"--8<-- {spec!r}: no file {path_part}"
    lines = path.read_text(encoding="utf-8").splitlines()
    if selector and not re.fullmatch(r"\d*(:\d*)?", selector):
        starts = [i for i, line in enumerate(lines) if (m := SECTION_MARK.search(line)) and m["name"] == selector]
        assert len(starts) == 2, f"--8<-- {spec!r}: {path_part} has no section {selector!r} (start and end)"
        lines = lines[starts[0] + 1 : starts[1]]
    elif selector:
        first, _, last = selector.partition(":")
        lines = lines[int(first or 1) - 1 : int(last) if last else None]
    return path, "\n".join(line.rstrip() for line in lines if not SECTION_MARK.search(line)).strip()


def fenced_blocks(markdown: str) -> list[str]:
    """The text of each fenced code block of ``markdown`` (dedented to its fence, trailing blanks dropped)."""
    blocks, fence, indent, current = [], "", 0, list[str]()
    for line in markdown.splitlines():
        opened = re.match(r"(\s*)(`{3,}|~{3,})", line)
        if not fence and opened:
            indent, fence, current = len(opened.group(1)), opened.group(2), []
        elif fence and line.strip() == fence:
            blocks.append("\n".join(current).strip("\n"))
            fence = ""
        elif fence:
            current.append(line[indent:].rstrip() if line[:indent].isspace() else line.rstrip())
    return [block for block in blocks if block.strip()]


def prose_headings(markdown: str) -> list[str]:
    """The heading lines of ``markdown`` outside its fenced code blocks."""
    found, fence = [], ""
    for line in markdown.splitlines():
        opened = re.match(r"\s*(`{3,}|~{3,})", line)
        if not fence and opened:
            fence = opened.group(1)
        elif fence and line.strip() == fence:
            fence = ""
        elif not fence and re.match(r"#{1,6} ", line):
            found.append(line)
    return found


def code_blocks(page_html: str) -> list[str]:
    """The text of each ``<pre>`` block of a built page (highlighting spans and line anchors dropped)."""
    blocks = re.findall(r"<pre\b[^>]*>(.*?)</pre>", page_html, flags=re.DOTALL)
    return ["\n".join(line.rstrip() for line in html.unescape(re.sub(r"<[^>]+>", "", b)).splitlines()) for b in blocks]


def test_every_internal_link_and_anchor_of_the_built_site_resolves(site: Path) -> None:
    broken, counts = broken_links(site, served_under(ROOT / "mkdocs.yml"))
    assert counts["pages"] > 10 and counts["anchors"] > 0, counts
    assert not broken, "\n".join(map(str, broken))


def test_each_snippet_names_an_existing_file_and_its_page_shows_that_code(site: Path) -> None:
    found = snippets()
    assert any(spec.startswith("example_dags/") and in_code for _, spec, in_code in found), (
        "no page includes an example DAG"
    )
    for page, spec, in_code in found:
        _, expected = included_text(spec)
        built = built_page(site, page).read_text(encoding="utf-8")
        blocks = code_blocks(built)
        if in_code:
            assert any(expected in block for block in blocks), f"{page}: the page does not show {spec} as written"
            continue
        # Markdown brought in (the changelog, README sections): its headings and its code blocks are on the page.
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", built)).split())
        for title in map(heading, prose_headings(expected)):
            assert " ".join(title.split()) in text, f"{page}: no heading {title!r} from {spec}"
        for code in fenced_blocks(expected):
            assert any(code in block for block in blocks), f"{page}: a code block of {spec} is not shown:\n{code}"


def test_the_cli_reference_shows_each_commands_help(site: Path) -> None:
    source = (DOCS / CLI_PAGE).read_text(encoding="utf-8")
    built = html.unescape(built_page(site, CLI_PAGE).read_text(encoding="utf-8"))
    assert "<!-- cli:" not in built
    for module, usage in CLI_USAGE.items():
        if f"<!-- cli: {module} -->" in source:
            assert usage in built, f"{CLI_PAGE}: no {usage!r} where <!-- cli: {module} --> stands"


def test_the_reference_shows_the_docstrings_sphinx_roles_as_code(site: Path) -> None:
    shown = {str(page.relative_to(site)): role[0] for page in site.rglob("*.html")
             if (role := RENDERED_ROLE.search(page.read_text(encoding="utf-8")))}  # fmt: skip
    assert not shown, f"a Sphinx role shown as text: {shown}"
    assert "<code>WaitState</code>" in built_page(site, "reference/triggers.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on a free loopback port (a thread of this process)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(ARTIFACTS) as launched:
        yield launched


@dataclass
class Tab:
    """A browser page, and its failed requests to the served site (HTTP 4xx/5xx, or no answer)."""

    page: Any
    site_url: str
    failures: list[str] = field(default_factory=list)

    def on_response(self, response: Any) -> None:
        if response.url.startswith(self.site_url) and response.status >= 400:
            self.failures.append(f"{response.status} {response.url}")

    def on_request_failed(self, request: Any) -> None:
        if request.url.startswith(self.site_url):
            self.failures.append(f"no answer: {request.url}")


@pytest.fixture
def tab(browser: Any, served: str) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    opened = Tab(context.new_page(), served)
    opened.page.on("response", opened.on_response)
    opened.page.on("requestfailed", opened.on_request_failed)
    yield opened
    context.close()


def heading(markdown: str) -> str:
    """The text of the first heading line of ``markdown`` (``# H1`` on a page), inline markup dropped."""
    line = next(line for line in markdown.splitlines() if re.match(r"#{1,6} ", line))
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", line.lstrip("#"))  # [text](url)
    text = re.sub(r"\[([^\]]*)\](?:\[[^\]]*\])?", r"\1", text)  # [text][ref] and [text]
    return re.sub(r"[`*]|(?<!\w)_|_(?!\w)", "", text).strip()


def shown_h1(page: Any) -> str:
    h1 = page.locator("article h1").first
    h1.wait_for(state="visible")
    return str(h1.inner_text()).replace("¶", "").strip()


def test_the_home_page_opens_in_chromium(tab: Tab, served: str) -> None:
    page = tab.page
    page.goto(f"{served}/")
    assert shown_h1(page) == heading((DOCS / "index.md").read_text(encoding="utf-8"))
    assert page.locator("nav.md-nav--primary").first.is_visible() or page.locator(".md-header").is_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    assert not tab.failures, tab.failures


def test_a_how_to_shows_the_example_dag_it_includes(tab: Tab, served: str) -> None:
    page = tab.page
    source = (DOCS / HOW_TO).read_text(encoding="utf-8")
    specs = [m["spec"] for line in source.splitlines() if (m := SNIPPET_LINE.match(line))]
    example = next((spec for spec in specs if spec.startswith("example_dags/")), None)
    assert example, f"{HOW_TO} includes no example DAG"
    path, _ = included_text(example)
    # One distinctive line: the example's first operator or sensor call.
    line = next(
        (text.strip() for text in path.read_text(encoding="utf-8").splitlines() if re.search(r"DataWorks\w+\(", text)),
        None,
    )
    assert line, f"{example}: no DataWorks operator or sensor call to look for"

    page.goto(f"{served}/{HOW_TO.removesuffix('.md')}/")
    assert shown_h1(page) == heading(source)
    code = page.locator("pre code").filter(has_text=line).first
    code.wait_for(state="visible")
    code.scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / "how-to.png"), full_page=True)
    assert not tab.failures, tab.failures
