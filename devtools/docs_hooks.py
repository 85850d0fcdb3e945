"""MkDocs hooks of the documentation site (mkdocs.yml: ``hooks: [devtools/docs_hooks.py]``).

``on_page_markdown`` replaces each line ``<!-- cli: MODULE -->`` (alone on its line, indented or not) with MODULE's
``--help`` as a fenced ``text`` block: the module's own ``main(["--help"])`` run in-process, its argparse parser
100 columns wide, so the pages show what the command prints and cannot drift from it. The modules with a command
line: ``airflow_provider_dataworks.cli.plan``, ``airflow_provider_dataworks.cli.check`` and
``airflow_provider_dataworks.emulator.cli`` (``dataworks-emulator``). A marker inside a fenced block is left as it is
(a page may show one); an unknown module, or one whose ``--help`` does not exit 0, fails the build.

``on_page_content`` shows the Sphinx roles of the docstrings (``:class:`~a.b.C```, which Airflow's docs and IDEs
read) as code: mkdocstrings renders them as text, ``:class:`` and then ``~a.b.C`` as code. ``~`` keeps the last
name, as Sphinx does.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
from collections.abc import Iterator
from typing import Any

#: The terminal width the help is formatted for (argparse reads ``COLUMNS``), fixed so the pages are stable.
COLUMNS = 100
MARKER = re.compile(r"^(?P<indent>[ \t]*)<!--\s*cli:\s*(?P<module>[A-Za-z_][\w.]*)\s*-->\s*$")
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
#: A Sphinx cross-reference role as mkdocstrings renders it: ``:class:<code>~a.b.C</code>``.
RENDERED_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):<code>(?P<short>~?)(?P<target>[\w.]+)</code>")

_helps: dict[str, str] = {}


class CliHelpError(Exception):
    """A ``<!-- cli: MODULE -->`` marker whose help could not be produced."""


@contextlib.contextmanager
def _fixed_terminal() -> Iterator[None]:
    """``COLUMNS`` fixed and colour off (Python 3.13+ argparse colours a terminal's help) while the help is built."""
    fixed = {"COLUMNS": str(COLUMNS), "NO_COLOR": "1", "PYTHON_COLORS": "0"}
    saved = {name: os.environ.get(name) for name in fixed}
    os.environ.update(fixed)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def cli_help(module_name: str) -> str:
    """MODULE's ``--help`` text as ``python -m MODULE --help`` (or its console script) prints it, ``COLUMNS`` wide."""
    if module_name not in _helps:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise CliHelpError(f"cannot import {module_name}: {err}") from err
        main = getattr(module, "main", None)
        if not callable(main):
            raise CliHelpError(f"{module_name} has no main(argv) to ask for --help")
        out, errors = io.StringIO(), io.StringIO()
        with _fixed_terminal(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(errors):
            try:
                main(["--help"])
            except SystemExit as done:
                if done.code not in (0, None):
                    raise CliHelpError(f"{module_name} --help exited {done.code}: {errors.getvalue()}") from None
            else:
                raise CliHelpError(f"{module_name} main(['--help']) returned instead of printing its help and exiting")
        text = out.getvalue().rstrip()
        if not text.startswith("usage:"):
            raise CliHelpError(f"{module_name} --help printed no usage: {text[:200]!r}")
        _helps[module_name] = text
    return _helps[module_name]


def _fenced(text: str, indent: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = [f"{indent}{line}".rstrip() for line in text.splitlines()]
    return [f"{indent}{fence}text", *body, f"{indent}{fence}"]


def _closes(line: str, open_fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``open_fence`` (the same character, at least as many, alone)."""
    stripped = line.strip()
    return len(stripped) >= len(open_fence) and set(stripped) == {open_fence[0]}


def expand_cli_markers(markdown: str, where: str = "<page>") -> str:
    """``markdown`` with each ``<!-- cli: MODULE -->`` line outside a fenced block replaced by MODULE's help."""
    lines: list[str] = []
    open_fence: str | None = None
    for number, line in enumerate(markdown.split("\n"), start=1):
        if open_fence is not None:
            if _closes(line, open_fence):
                open_fence = None
            lines.append(line)
            continue
        fence = FENCE.match(line)
        if fence:
            open_fence = fence["fence"]
        marker = MARKER.match(line)
        if marker is None:
            lines.append(line)
            continue
        try:
            lines.extend(_fenced(cli_help(marker["module"]), marker["indent"]))
        except CliHelpError as err:
            raise CliHelpError(f"{where}:{number}: {err}") from None
    return "\n".join(lines)


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: the page's ``<!-- cli: MODULE -->`` lines expanded (a failure stops the build)."""
    from mkdocs.exceptions import PluginError

    try:
        return expand_cli_markers(markdown, page.file.src_uri)
    except CliHelpError as err:
        raise PluginError(str(err)) from None


def plain_roles(html: str) -> str:
    """``html`` with each rendered Sphinx role shown as its target in code; ``~a.b.C`` as ``C``."""

    def code(role: re.Match[str]) -> str:
        target = role["target"].rsplit(".", 1)[-1] if role["short"] else role["target"]
        return f"<code>{target}</code>"

    return RENDERED_ROLE.sub(code, html)


def on_page_content(html: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: the page's rendered Sphinx roles shown as code."""
    return plain_roles(html)
