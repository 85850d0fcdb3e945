"""Check every internal link and anchor of the built documentation site (``make docs`` runs it after mkdocs).

``python -m devtools.check_site_links [SITE_DIR]`` (default ``site``) reads each built page's ``<a href>`` (and the
``src``/``href`` of its images, scripts, stylesheets and media) and every ``id=`` (and ``<a name=>``), then resolves
each link that stays on the site: its file must exist (a folder means its ``index.html``) and its ``#fragment`` must be
an id of the page it lands on. Exit status 1 lists each broken link as ``page -> target: why``. External links
(``http(s)://``, ``mailto:`` ...) are counted, not fetched: the check runs offline.
"""

from __future__ import annotations

import argparse
import posixpath
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: The attributes that point somewhere, per tag: ``<a href>`` first of all, then the page's own resources.
LINK_ATTRIBUTES = {
    "a": ("href",),
    "area": ("href",),
    "img": ("src",),
    "script": ("src",),
    "link": ("href",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "iframe": ("src",),
}


@dataclass
class Page:
    """One built page: the ids it declares and the links it holds (in order)."""

    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Broken:
    page: str
    target: str
    reason: str

    def __str__(self) -> str:
        return f"{self.page} -> {self.target}: {self.reason}"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value for name, value in attrs if value is not None}
        if "id" in values:
            self.page.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.page.ids.add(values["name"])
        for name in LINK_ATTRIBUTES.get(tag, ()):
            if name in values:
                self.page.links.append(values[name].strip())


def parse_page(path: Path) -> Page:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def is_external(href: str) -> bool:
    """Whether ``href`` leaves the site (a scheme such as ``https:`` or ``mailto:``, or ``//host/...``)."""
    parts = urlsplit(href)
    return bool(parts.scheme) or href.startswith("//")


def _target_file(site: Path, page_rel: str, path: str, base: str = "/") -> tuple[str, Path]:
    """The site-relative path and file that ``path`` (a link's path part, from page ``page_rel``) lands on.

    ``base`` is the path the site is served under (``site_url``'s path): an absolute link names a page under it.
    """
    if path.startswith("/") and base != "/" and (path + "/").startswith(base):
        path = "/" + path[len(base) :]
    joined = path if path.startswith("/") else posixpath.join(posixpath.dirname(page_rel), path)
    rel = posixpath.normpath(joined).lstrip("/")
    rel = "" if rel == "." else rel
    if rel.startswith("../") or rel == "..":
        return rel, site / "\0outside"  # above the site's root: never a file of the site
    target = site / rel
    if path.endswith("/") or target.is_dir():
        rel = posixpath.join(rel, "index.html") if rel else "index.html"
        target = site / rel
    return rel, target


def broken_links(site: Path, base: str = "/") -> tuple[list[Broken], dict[str, int]]:
    """Every broken internal link of the site built in ``site`` (served under the path ``base``), and counts:
    pages, internal links, anchors, external links."""
    pages = {path.relative_to(site).as_posix(): parse_page(path) for path in sorted(site.rglob("*.html"))}
    counts = {"pages": len(pages), "internal links": 0, "anchors": 0, "external links (not fetched)": 0}
    broken: list[Broken] = []
    for page_rel, page in pages.items():
        for href in page.links:
            if not href or is_external(href):
                counts["external links (not fetched)"] += bool(href)
                continue
            counts["internal links"] += 1
            parts = urlsplit(href)
            fragment = unquote(parts.fragment)
            if parts.path:
                rel, target = _target_file(site, page_rel, unquote(parts.path), base)
                if not target.is_file():
                    broken.append(Broken(page_rel, href, f"no file {rel or 'index.html'} in the site"))
                    continue
            else:
                rel = page_rel
            if not fragment:
                continue
            counts["anchors"] += 1
            if not rel.endswith(".html"):
                continue  # a fragment of a non-page (an image, a file): nothing to look up
            target_page = pages.get(rel)
            if target_page is None or fragment not in target_page.ids:
                broken.append(Broken(page_rel, href, f"no id {fragment!r} on {rel}"))
    return broken, counts


def served_under(config: Path) -> str:
    """The path of ``site_url`` in the MkDocs config (``/`` without one): absolute links in the built pages start
    with it (the 404 page's, for one)."""
    found = re.search(r"^site_url:\s*(\S+)", config.read_text(encoding="utf-8"), re.M) if config.is_file() else None
    path = urlsplit(found.group(1)).path if found else "/"
    return path if path.endswith("/") else path + "/"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.check_site_links", description=__doc__)
    parser.add_argument("site", nargs="?", default="site", help="the built site's folder (default: site)")
    parser.add_argument(
        "--config", default="mkdocs.yml", help="the MkDocs config whose site_url path the site is served under"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    site = Path(args.site)
    base = served_under(Path(args.config))
    if not (site / "index.html").is_file():
        print(f"{site}: no index.html; build the site first (make docs)", file=sys.stderr)
        return 2
    broken, counts = broken_links(site, base)
    summary = ", ".join(f"{count} {what}" for what, count in counts.items())
    if broken:
        print(f"{site}: {len(broken)} broken internal link(s) ({summary}):", file=sys.stderr)
        for item in broken:
            print(f"  {item}", file=sys.stderr)
        return 1
    print(f"{site}: every internal link and anchor resolves ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
