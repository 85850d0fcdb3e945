"""What ``plan`` and ``check`` share at the process's edges: reading DAG files, and stdout kept for the report."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


def dag_bag(where: str | None) -> Any:
    """Airflow's ``DagBag`` of ``where`` (a DAG file or folder; None: Airflow's [core] dags_folder)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2.x
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    return DagBag(where)


@contextmanager
def stdout_for_the_report_only() -> Iterator[TextIO]:
    """A stream to the process's stdout; inside the block, anything else written there goes to stderr.

    Airflow logs to stdout (the DagBag's INFO line, connection look-ups), which would garble ``--json``.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with os.fdopen(os.dup(saved), "w") as report_out:
            yield report_out
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
