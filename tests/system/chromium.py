"""Headless Chromium for the system tier's browser tests: Debian's ``chromium`` (or ``$CHROMIUM``) driven by
Playwright, and the folder their screenshots are kept in (``$TEST_ARTIFACTS``, default ``test-artifacts/``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS_ROOT = Path(os.environ.get("TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


@contextmanager
def chromium(artifacts: Path) -> Iterator[Any]:
    """A launched headless Chromium; ``artifacts`` (the test's screenshot folder) is created first."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            yield launched
        finally:
            launched.close()
