"""The arguments of ``plan`` and ``check``: one table each, read by ``python -m`` and by ``airflow dataworks``.

Airflow 3.2+ imports this (through ``cli/commands.py``) each time it builds its command line: ``argparse`` only.
"""

from __future__ import annotations

import argparse
from typing import Any

#: (flags, argparse keywords) of one argument.
Option = tuple[tuple[str, ...], dict[str, Any]]

#: ``plan --expected-duration``'s default: seconds a waiting run's wait is taken to last (its polls' estimate).
DEFAULT_EXPECTED_DURATION_S = 600.0

PLAN_HELP = (
    "Plan a backfill: first the schedule check (as dataworks check), then per logical date the TriggerTime, the "
    "DataWorks instance and the API calls it will spend (polls estimated); their time at the account's read/write "
    "QPS, their share of the monthly free calls, and the quota days where the connection sets daily_quota"
)
PLAN_OPTIONS: tuple[Option, ...] = (
    (("--dag-id",), {"help": "the DAG to plan (in --dag-file, else in the dags folder)"}),
    (("--dag-file",), {"help": "a DAG file (default: the dags folder)"}),
    (("--dags-folder",), {"help": "where to look for --dag-id (default: Airflow's [core] dags_folder)"}),
    (
        ("--task-id",),
        {"action": "append", "help": "only this DataWorksTriggerOperator (repeatable; default: every one)"},
    ),
    (
        ("--start",),
        {
            "required": True,
            "help": "first logical date, ISO-8601; without an offset read in Airflow's [core] default_timezone (UTC "
            "unless set), as airflow backfill create reads it",
        },
    ),
    (("--end",), {"required": True, "help": "last logical date, ISO-8601, included (without an offset: as --start)"}),
    (
        ("--expected-duration",),
        {
            "type": float,
            "default": DEFAULT_EXPECTED_DURATION_S,
            "metavar": "SECONDS",
            "help": "how long a waiting run's wait is expected to last, from its trigger: the plan estimates the "
            f"polls from it and each task's poll_interval backoff (default {DEFAULT_EXPECTED_DURATION_S:g})",
        },
    ),
    (("--json",), {"action": "store_true", "help": "print the plan as JSON instead of a table"}),
)

CHECK_HELP = (
    "Check that each DataWorks task's DAG schedule and zone name its node's instances: one GetTask per node; "
    "exits 1 on a mismatch, with the fix"
)
CHECK_OPTIONS: tuple[Option, ...] = (
    (("--dag-id",), {"help": "the DAG to check (default: every DAG in --dag-file or the dags folder)"}),
    (("--dag-file",), {"help": "a DAG file (default: the dags folder)"}),
    (("--dags-folder",), {"help": "where to look for DAGs (default: Airflow's [core] dags_folder)"}),
    (
        ("--fire-times",),
        {"type": int, "default": 30, "help": "how many of the DAG's next runs to compare (default 30)"},
    ),
    (
        ("--from",),
        {"dest": "start", "help": "compare runs from this moment, ISO-8601 (default: now; naive: UTC)"},
    ),
    (("--json",), {"action": "store_true", "help": "print the report as JSON"}),
)


def module_parser(module: str, description: str, options: tuple[Option, ...]) -> argparse.ArgumentParser:
    """The plain ``argparse`` parser of ``python -m <module>``."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    for flags, keywords in options:
        parser.add_argument(*flags, **keywords)
    return parser
