"""The documentation's own tools, without MkDocs: the link checker (devtools/check_site_links.py), the hooks
(devtools/docs_hooks.py: the CLI's help, Sphinx roles) and the prose statistics (devtools/prose_stats.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import check_site_links, prose_stats
from devtools.docs_hooks import COLUMNS, CliHelpError, expand_cli_markers, plain_roles


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_link_checker_finds_missing_pages_files_and_anchors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path / "index.html",
        '<h1 id="top">Home</h1><a href="#top">up</a><a href="guide/">guide</a><a href="guide/#usage">usage</a>'
        '<a href="guide/index.html#nowhere">x</a><a href="gone/">gone</a><img src="assets/shot.png">'
        '<a href="https://example.org/#x">out</a><a href="mailto:a@b.c">mail</a><a href="#">top</a>'
        '<a href="../outside.html">outside</a>',
    )
    write(
        tmp_path / "guide" / "index.html",
        '<h2 id="usage">Usage</h2><a name="legacy"></a><a href="../#top">home</a><a href="#legacy">old</a>'
        '<a href="/guide/#usage">absolute</a><a href="../assets/missing.css">css</a>',
    )
    write(tmp_path / "assets" / "shot.png", "png")

    broken, counts = check_site_links.broken_links(tmp_path)

    assert sorted(map(str, broken)) == [
        "guide/index.html -> ../assets/missing.css: no file assets/missing.css in the site",
        "index.html -> ../outside.html: no file ../outside.html in the site",
        "index.html -> gone/: no file gone/index.html in the site",
        "index.html -> guide/index.html#nowhere: no id 'nowhere' on guide/index.html",
    ]
    assert counts["pages"] == 2 and counts["external links (not fetched)"] == 2
    assert check_site_links.main([str(tmp_path)]) == 1
    assert "4 broken internal link(s)" in capsys.readouterr().err


def test_the_link_checker_passes_a_sound_site_and_refuses_an_unbuilt_one(tmp_path: Path) -> None:
    write(tmp_path / "index.html", '<p id="a">x</p><a href="#a">a</a><a href="sub/page.html">p</a>')
    write(tmp_path / "sub" / "page.html", '<a href="../index.html#a">back</a>')
    assert check_site_links.main([str(tmp_path)]) == 0
    assert check_site_links.main([str(tmp_path / "nothing")]) == 2


def test_absolute_links_are_read_under_the_path_the_site_is_served_at(tmp_path: Path) -> None:
    """A site served at https://host/project/ has absolute links like /project/guide/ (its 404 page's)."""
    write(tmp_path / "index.html", '<a href="/project/guide/">in</a><a href="/other/guide/">out</a>')
    write(tmp_path / "guide" / "index.html", "<h1>Guide</h1>")
    write(tmp_path / "mkdocs.yml", "site_name: x\nsite_url: https://host/project\n")

    assert check_site_links.served_under(tmp_path / "mkdocs.yml") == "/project/"
    assert check_site_links.served_under(tmp_path / "none.yml") == "/"
    broken, _ = check_site_links.broken_links(tmp_path, "/project/")
    assert [str(item) for item in broken] == ["index.html -> /other/guide/: no file other/guide/index.html in the site"]
    assert check_site_links.main([str(tmp_path), "--config", str(tmp_path / "mkdocs.yml")]) == 1


def test_the_hook_puts_each_commands_help_where_its_marker_stands() -> None:
    page = "\n".join(
        [
            "# CLI",
            "<!-- cli: airflow_provider_dataworks.cli.plan -->",
            "```markdown",
            "<!-- cli: airflow_provider_dataworks.cli.check -->",
            "```",
            "- the emulator:",
            "",
            "    <!-- cli: airflow_provider_dataworks.emulator.cli -->",
        ]
    )
    lines = expand_cli_markers(page).split("\n")

    assert lines[1:3] == ["```text", "usage: python -m airflow_provider_dataworks.cli.plan [-h] [--dag-id DAG_ID]"
                          " [--dag-file DAG_FILE]"]  # fmt: skip
    assert "<!-- cli: airflow_provider_dataworks.cli.check -->" in lines  # shown as code: left as it is
    assert "    usage: dataworks-emulator [-h] [--host HOST] [--port PORT] [--spec SPEC]" in lines
    assert lines[-1] == "    ```"
    assert all(len(line) <= COLUMNS + 4 for line in lines)
    assert expand_cli_markers(page) == expand_cli_markers(page)  # stable


def test_the_hook_fails_on_a_module_without_a_command_line() -> None:
    with pytest.raises(CliHelpError, match=r"^cli\.md:3: cannot import no_such_module"):
        expand_cli_markers("# CLI\n\n<!-- cli: no_such_module -->", "cli.md")
    with pytest.raises(CliHelpError, match=r"has no main\(argv\)"):
        expand_cli_markers("<!-- cli: airflow_provider_dataworks.cli.options -->")


def test_prose_stats_count_the_prose_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = "\n".join(
        [
            "# A heading. Not prose.",
            "",
            "One sentence here, with `code`. Two words.",
            "",
            "| a table. | Not prose. |",
            "|---|---|",
            "",
            "```python",
            "x = 1. Not prose.",
            "```",
            "",
            '--8<-- "example_dags/example_dataworks_trigger.py"',
            "<!-- A comment. Not prose. -->",
            "- An item without a full stop",
            "- e.g. this one. It has two sentences!",
        ]
    )
    found = prose_stats.stats("page.md", page)
    assert (found.lines, found.sentences, found.words) == (15, 5, 5 + 2 + 6 + 3 + 4)

    write(tmp_path / "README.md", page)
    write(tmp_path / "docs" / "index.md", page)
    write(tmp_path / "docs" / "reliability.md", "Generated. Left out.")
    assert prose_stats.main(["--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["file", "README.md", "docs/index.md", "docs/"]
    assert out[1].split()[1:] == ["15", "5", "4.0"]


def test_rendered_sphinx_roles_show_as_code_and_a_tilde_keeps_the_last_name() -> None:
    html = (
        "<p>Raises :class:<code>DataWorksApiError</code>; see :meth:<code>~a.hooks.DataWorksHook.call</code> and "
        ":data:<code>~a.b.EXTRA_FIELDS</code>.</p><p>A time: <code>00:30</code>, a role name alone: :class:</p>"
    )
    assert plain_roles(html) == (
        "<p>Raises <code>DataWorksApiError</code>; see <code>call</code> and <code>EXTRA_FIELDS</code>.</p>"
        "<p>A time: <code>00:30</code>, a role name alone: :class:</p>"
    )
