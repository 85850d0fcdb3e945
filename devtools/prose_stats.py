"""How long the prose of the README and of the site's pages is: lines, sentences, words per sentence.

``python -m devtools.prose_stats`` (from the repository's root) prints one row for README.md and one for each page
under docs/ (docs/reliability.md and docs/bad-input.md left out: tests write them), then the pages' total. Only
prose counts: fenced code blocks, tables, HTML comments and tags, headings, snippet includes (``--8<--``),
mkdocstrings blocks (``:::``), admonition title lines and link definitions are left out; inline code counts as
one word. A sentence ends at ``.``, ``!`` or ``?`` before a capital or a digit, and at the end of a paragraph or a
list item. *Lines* are the file's lines, all of them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Pages the test suites write (the fault matrix, bad input): generated tables, not prose anyone wrote.
GENERATED = frozenset({"docs/reliability.md", "docs/bad-input.md"})

FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
SKIPPED_LINE = re.compile(
    r"""^\s*(?:
        \#{1,6}(?:\s|$)          # a heading
      | \|                       # a table row
      | -{3,}\s*$ | \*{3,}\s*$   # a rule (or front matter's fence)
      | --8<--                   # a snippet include
      | :::                      # mkdocstrings
      | (?:!!!|\?\?\?\+?)\s      # an admonition's first line
      | \[[^\]]+\]:\s            # a link definition
      | !\[[^\]]*\]\([^)]*\)\s*$ # an image alone on its line
      | </?[A-Za-z][^>]*>\s*$    # an HTML tag alone on its line
    )""",
    re.VERBOSE,
)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
QUOTE = re.compile(r"^\s*(?:>\s?)+")
ABBREVIATIONS = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|approx)\.", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]*_]*\s+(?=[\"'(\[*_]*[A-Z0-9])")
WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Stats:
    name: str
    lines: int
    sentences: int
    words: int

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0


def _without_comments(text: str) -> str:
    """``text`` with its HTML comments blanked (their newlines kept, so the lines still count)."""
    return re.sub(r"<!--.*?-->", lambda found: "\n" * found.group().count("\n"), text, flags=re.DOTALL)


def _plain(text: str) -> str:
    """Markdown inline markup reduced to its words: inline code one word, links and images their text."""
    text = re.sub(r"(`+)(?:(?!\1).)+?\1", " CODE ", text)  # a capital: a sentence may start with code
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"!?\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return ABBREVIATIONS.sub(lambda found: found.group().replace(".", ""), text)


def paragraphs(markdown: str) -> Iterator[str]:
    """The prose paragraphs (and list items) of ``markdown``, each joined on one line, markup still in."""
    current: list[str] = []
    fence: str | None = None
    for raw in _without_comments(markdown).splitlines():
        if fence is not None:
            stripped = raw.strip()
            if len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        opened = FENCE.match(raw)
        if opened:
            fence = opened.group(1)
        if opened or not raw.strip() or SKIPPED_LINE.match(raw):
            if current:
                yield " ".join(current)
            current = []
            continue
        line = QUOTE.sub("", raw)
        if LIST_ITEM.match(line) and current:
            yield " ".join(current)
            current = []
        current.append(LIST_ITEM.sub("", line).strip())
    if current:
        yield " ".join(current)


def sentences(paragraph: str) -> list[str]:
    """The sentences of one paragraph with at least one word each."""
    return [part for part in SENTENCE_END.split(_plain(paragraph)) if WORD.search(part)]


def stats(name: str, markdown: str) -> Stats:
    found = [sentence for paragraph in paragraphs(markdown) for sentence in sentences(paragraph)]
    words = sum(1 for sentence in found for token in sentence.split() if WORD.search(token))
    return Stats(name, len(markdown.splitlines()), len(found), words)


def site_pages(root: Path = ROOT) -> list[Path]:
    """docs/**/*.md of the site, sorted, less the generated pages."""
    return [
        path for path in sorted((root / "docs").rglob("*.md")) if path.relative_to(root).as_posix() not in GENERATED
    ]


def table(rows: Iterable[Stats]) -> list[str]:
    rows = list(rows)
    width = max([len("file"), *(len(row.name) for row in rows)])
    lines = [f"{'file':<{width}}  {'lines':>6}  {'sentences':>9}  {'words/sentence':>14}"]
    for row in rows:
        lines.append(f"{row.name:<{width}}  {row.lines:>6}  {row.sentences:>9}  {row.words_per_sentence:>14.1f}")
    return lines


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.prose_stats", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository's root (default: this checkout)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    root: Path = args.root
    rows = []
    readme = root / "README.md"
    if readme.is_file():
        rows.append(stats("README.md", readme.read_text(encoding="utf-8")))
    pages = [stats(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8")) for path in site_pages(root)]
    rows.extend(pages)
    if pages:
        rows.append(
            Stats(
                f"docs/ ({len(pages)} pages)",
                sum(page.lines for page in pages),
                sum(page.sentences for page in pages),
                sum(page.words for page in pages),
            )
        )
    if not rows:
        print(f"{root}: no README.md and no docs/**/*.md", file=sys.stderr)
        return 1
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
