"""``airflow dataworks check`` (Airflow 3.2+) and ``python -m airflow_provider_dataworks.cli.commands`` (every version).

Checks each DataWorks operator and sensor of a DAG (or of every DAG in the dags folder) against its node's own
schedule: one GetTask per node, then the DAG's next ``--fire-times`` runs (and those around daylight-saving
changes) compared with the node's instances. Exit status 0: every checked task matches its node; 1: a mismatch
(so it gates CI); 2: a task could not be checked (connection, API). The check itself is ``cli/check.py``; this
module imports only ``argparse``-level things, as Airflow imports it each time it builds its command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

#: (flags, argparse keywords) of each argument, shared by ``python -m ...check_cli`` and ``airflow dataworks check``.
ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
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
HELP = (
    "Check that each DataWorks task's DAG schedule and zone name its node's instances: one GetTask per node; "
    "exits 1 on a mismatch, with the fix"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for flags, keywords in ARGUMENTS:
        parser.add_argument(*flags, **keywords)


def check_command(args: argparse.Namespace) -> None:
    """``airflow dataworks check``: print the report; exit with its status."""
    from airflow_provider_dataworks.cli.check import run

    status = run(args)
    if status:
        sys.exit(status)


def check_action_command() -> Any:
    """The ``check`` subcommand for Airflow's command line."""
    from airflow.cli.cli_config import ActionCommand, Arg, lazy_load_command

    from airflow_provider_dataworks.cli.plan_args import _for_rich

    return ActionCommand(
        name="check",
        help=HELP,
        func=lazy_load_command("airflow_provider_dataworks.cli.commands.check_command"),
        args=tuple(Arg(flags, **_for_rich(keywords)) for flags, keywords in ARGUMENTS),
    )


def get_cli_commands() -> list[Any]:
    """The provider's Airflow CLI commands, ``plan`` and ``check`` under ``airflow dataworks`` (Airflow 3.2+ calls
    this through ``get_provider_info()['cli']``)."""
    from airflow.cli.cli_config import GroupCommand

    from airflow_provider_dataworks.cli.plan_args import get_cli_commands as plan_commands

    (group,) = plan_commands()
    subcommands = (*(c for c in group.subcommands if c.name != "check"), check_action_command())
    return [GroupCommand(name=group.name, help=group.help, subcommands=subcommands)]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_dataworks.cli.commands", description=HELP)
    add_arguments(parser)
    args = parser.parse_args(list(argv) if argv is not None else None)
    from airflow_provider_dataworks.cli.check import run

    try:
        return run(args)
    except SystemExit as err:  # bad arguments: the message, status 2
        if isinstance(err.code, str):
            print(err.code, file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
