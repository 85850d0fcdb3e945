"""The README's five-minute walkthrough, read from the README and run as written with this virtualenv's
``dataworks-emulator`` and ``airflow``: emulator, pasted connection, ``airflow dags test`` of an example."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.walkthrough import check_walkthrough, clean_env, emulator_running, run_airflow_block, workdir


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    cwd = workdir(tmp_path)
    env = clean_env(Path(sys.executable).parent, tmp_path / "airflow-home")
    with emulator_running(env, cwd) as printed:
        check_walkthrough(printed, run_airflow_block(env, cwd))
