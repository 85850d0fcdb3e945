"""``dataworks-emulator`` as a process: the connection it prints works as pasted, and the dates it lists name
instances that wait, read the way the operator reads a run's date."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest

from airflow_provider_dataworks.domain.timing import resolve_trigger_time
from airflow_provider_dataworks.emulator import DataWorksEmulator, EmulatorControl
from airflow_provider_dataworks.emulator.quickstart import connection_extra, connection_uri
from airflow_provider_dataworks.hooks.dataworks import DataWorksHook
from tests.conftest import RELEASE, WORKSPACE

FROZEN_AT = "2026-11-25T00:31:00+08:00"


@pytest.fixture(scope="module")
def cli() -> Iterator[tuple[dict[str, Any], list[str]]]:
    """The CLI on the demo workspace, clock frozen at 2026-11-25 00:31 Shanghai: (its JSON line, what follows)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_dataworks.emulator.cli", "--freeze-at", FROZEN_AT],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        lines = []
        while not (line := proc.stdout.readline()).startswith("# A DAG on the node's cron"):
            assert line, "the CLI stopped printing before its last line"
            lines.append(line.rstrip("\n"))
        yield info, [*lines, line.rstrip("\n")]
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def pasted(export_line: str) -> tuple[str, str]:
    """(variable, value) as bash sets them from the printed ``export NAME='...'`` line."""
    name, _, value = " ".join(shlex.split(export_line)[1:]).partition("=")
    return name, value


@pytest.mark.parametrize("form", ["uri", "json"])
def test_the_printed_connection_connects_as_pasted(
    cli: tuple[dict[str, Any], list[str]], form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    info, lines = cli
    exports = [line for line in lines if line.startswith("export ")]
    assert len(exports) == 1  # pasting the whole snippet sets the variable once; the JSON form is commented out
    (json_form,) = [line.removeprefix("# ") for line in lines if line.startswith("# export ")]
    name, value = pasted(exports[0] if form == "uri" else json_form)
    assert name == "AIRFLOW_CONN_DATAWORKS_DEFAULT"
    assert value == (info["connection"]["uri"] if form == "uri" else json.dumps(info["connection"]["json"]))
    monkeypatch.setenv(name, value)
    hook = DataWorksHook()
    settings = hook.settings
    assert (settings.protocol, settings.endpoint) == ("http", info["host_port"])  # http: no TLS to the emulator
    assert (settings.region_id, settings.project_id, settings.timezone) == ("cn-hangzhou", WORKSPACE, "Asia/Shanghai")
    assert hook.test_connection() == (True, f"Connected to {info['host_port']}: workspace 1001 (demo_workspace).")


def test_it_lists_the_http_trigger_node_and_the_dates_whose_instance_waits(
    cli: tuple[dict[str, Any], list[str]],
) -> None:
    info, lines = cli
    (task,) = info["http_trigger_tasks"]
    assert {k: task[k] for k in ("task_id", "workspace_id", "cron", "timezone")} == {
        "task_id": RELEASE, "workspace_id": WORKSPACE, "cron": "30 0 * * *", "timezone": "Asia/Shanghai"
    }  # fmt: skip
    # 00:31 on the 25th: the 24th's and the 25th's 00:30 instances wait for their trigger; the 26th's are
    # generated at 23:30 on the 25th.
    assert [(w["logical_date"], w["status"]) for w in task["waiting"]] == [
        ("2026-11-24T00:30:00+08:00", "WaitTrigger"), ("2026-11-25T00:30:00+08:00", "WaitTrigger")
    ]  # fmt: skip
    control = EmulatorControl(info["endpoint"])
    assert control.instances(RELEASE) == []  # worked out aside: the served emulator generated nothing yet
    manual_run = SimpleNamespace(run_type="manual")  # what `airflow dags test` creates
    for waiting in task["waiting"]:
        context = {"logical_date": pendulum.parse(waiting["logical_date"]), "dag_run": manual_run}
        assert resolve_trigger_time(None, context, task["timezone"]) == (waiting["trigger_time_ms"], "logical_date")
    assert lines[-1].endswith("airflow dags test <dag_id> 2026-11-25T00:30:00+08:00")
    assert "#     2026-11-24T00:30:00+08:00  WaitTrigger" in lines


def test_the_uri_is_what_airflow_parses_back() -> None:
    from airflow.models.connection import Connection

    extra = {"endpoint": "http://127.0.0.1:8765", "region_id": "cn-hangzhou", "project_id": 1001}
    uri = connection_uri("LTAI5t/key", "s3cr:t@/?&=", extra)
    assert "://" not in uri.split("://", 1)[1]  # Airflow refuses a second '://' ("Invalid connection string")
    conn = Connection(conn_id="dataworks_default", uri=uri)
    assert (conn.conn_type, conn.login, conn.password) == ("dataworks", "LTAI5t/key", "s3cr:t@/?&=")
    # Airflow 3.3 reads 1001 back as a number, 2.11 as a string; the connection parser takes either.
    assert {k: str(v) for k, v in conn.extra_dejson.items()} == {k: str(v) for k, v in extra.items()}


def test_the_connection_names_region_workspace_and_zone_only_when_the_scenario_has_one_of_each() -> None:
    with DataWorksEmulator() as emu:
        emu.add_workspace(1, "cn-hangzhou", timezone="UTC")
        assert connection_extra(emu) == {
            "endpoint": emu.endpoint, "region_id": "cn-hangzhou", "project_id": 1, "timezone": "UTC"
        }  # fmt: skip
        emu.add_workspace(2, "eu-central-1")
        assert connection_extra(emu) == {"endpoint": emu.endpoint}
