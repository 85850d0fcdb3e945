"""``airflow dataworks plan`` and ``airflow dataworks check`` on Airflow 3.2+: :func:`get_cli_commands`.

Airflow 3.2+ reads the ``cli`` list of ``get_provider_info()`` and imports this module each time it builds its
command line, so it imports only the argument tables (``cli/options.py``); each command's module (``cli/plan.py``,
``cli/check.py``: the DAG, the hook, the SDK) loads when the command runs. Airflow 2.11, 3.0 and 3.1 have no
provider commands: there the commands are ``python -m airflow_provider_dataworks.cli.plan`` and ``... .cli.check``
(``python -m airflow_provider_dataworks.cli.commands`` still runs the check), with the same arguments.
"""

from __future__ import annotations

import sys
from typing import Any

from airflow_provider_dataworks.cli.options import CHECK_HELP, CHECK_OPTIONS, PLAN_HELP, PLAN_OPTIONS, Option


def _for_rich(keywords: dict[str, Any]) -> dict[str, Any]:
    """``keywords`` with the help escaped for Airflow's help formatter, which reads it as rich markup (``[core]``
    would vanish as a style tag); ``python -m``'s plain argparse shows the text as written."""
    from rich.markup import escape

    return {**keywords, "help": escape(keywords["help"])} if "help" in keywords else keywords


def _action_command(name: str, help_text: str, function: str, options: tuple[Option, ...]) -> Any:
    """One ``airflow dataworks`` subcommand; ``function`` (a dotted path) is imported when the command runs."""
    from airflow.cli.cli_config import ActionCommand, Arg, lazy_load_command

    return ActionCommand(
        name=name,
        help=help_text,
        func=lazy_load_command(function),
        args=tuple(Arg(flags, **_for_rich(keywords)) for flags, keywords in options),
    )


def get_cli_commands() -> list[Any]:
    """The provider's Airflow CLI commands, ``plan`` and ``check`` under ``airflow dataworks`` (Airflow 3.2+ calls
    this through ``get_provider_info()['cli']``)."""
    from airflow.cli.cli_config import GroupCommand

    subcommands = (
        _action_command("plan", PLAN_HELP, "airflow_provider_dataworks.cli.plan.airflow_command", PLAN_OPTIONS),
        _action_command("check", CHECK_HELP, "airflow_provider_dataworks.cli.check.airflow_command", CHECK_OPTIONS),
    )
    return [GroupCommand(name="dataworks", help="Alibaba Cloud DataWorks provider commands", subcommands=subcommands)]


if __name__ == "__main__":  # the check's former module form; ``python -m airflow_provider_dataworks.cli.check``
    from airflow_provider_dataworks.cli.check import main

    sys.exit(main())
