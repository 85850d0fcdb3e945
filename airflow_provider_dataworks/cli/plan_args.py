"""The backfill plan's command line: its arguments, and ``airflow dataworks plan`` on Airflow 3.2+.

Airflow 3.2+ reads the ``cli`` list of ``get_provider_info()`` and imports :func:`get_cli_commands` each time it
builds its command line, so this module imports only ``argparse``-level things; the plan itself
(``cli/plan.py``: the DAG, the hook, the SDK) loads when the command runs. Airflow 2.11, 3.0 and 3.1 have no provider
CLI commands: there it is ``python -m airflow_provider_dataworks.cli.plan``, with the same arguments.
"""

from __future__ import annotations

import argparse
from typing import Any

#: (flags, argparse keywords) of each argument, shared by ``python -m ...plan`` and ``airflow dataworks plan``.
ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--dag-id",), {"help": "the DAG to plan (in --dag-file, else in the dags folder)"}),
    (("--dag-file",), {"help": "a DAG file (default: the dags folder)"}),
    (("--dags-folder",), {"help": "where to look for --dag-id (default: Airflow's [core] dags_folder)"}),
    (
        ("--task-id",),
        {"action": "append", "help": "only this DataWorksTriggerOperator (repeatable; default: every one)"},
    ),
    (
        ("--start",),
        {"required": True, "help": "first logical date, ISO-8601 (naive: in Airflow's [core] default_timezone)"},
    ),
    (("--end",), {"required": True, "help": "last logical date, ISO-8601, included (naive: as --start)"}),
    (("--json",), {"action": "store_true", "help": "print the plan as JSON instead of a table"}),
)
HELP = (
    "Plan a backfill: per logical date the TriggerTime, the DataWorks instance and the API calls it will spend; "
    "their time at the account's read/write QPS, their share of the monthly free calls, and the quota days where "
    "the connection sets daily_quota"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the plan's arguments to ``parser``."""
    for flags, keywords in ARGUMENTS:
        parser.add_argument(*flags, **keywords)


def plan_command(args: argparse.Namespace) -> None:
    """``airflow dataworks plan``: print the plan for parsed ``args`` (exits non-zero on bad input)."""
    from airflow_provider_dataworks.cli.plan import run

    run(args)


def _for_rich(keywords: dict[str, Any]) -> dict[str, Any]:
    """``keywords`` with the help escaped for Airflow's help formatter, which reads it as rich markup (``[core]``
    would vanish as a style tag); ``python -m ...plan``'s plain argparse shows the text as written."""
    from rich.markup import escape

    return {**keywords, "help": escape(keywords["help"])} if "help" in keywords else keywords


def get_cli_commands() -> list[Any]:
    """The provider's Airflow CLI commands (Airflow 3.2+ calls this through ``get_provider_info()['cli']``)."""
    from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand, lazy_load_command

    plan = ActionCommand(
        name="plan",
        help=HELP,
        func=lazy_load_command("airflow_provider_dataworks.cli.plan_args.plan_command"),
        args=tuple(Arg(flags, **_for_rich(keywords)) for flags, keywords in ARGUMENTS),
    )
    return [GroupCommand(name="dataworks", help="Alibaba Cloud DataWorks provider commands", subcommands=(plan,))]
