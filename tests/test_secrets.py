"""Secrets at DEBUG: an STS connection's AccessKey secret and security token never leave the connection.

``airflow dags test`` (``dag.test()`` in its own process) runs a DAG with Airflow's logging at DEBUG, which the
SDK's, aiohttp's, urllib3's and our loggers inherit: a trigger-and-wait, a deferred sensor, a failure DataWorks
reports (HTTP 404) and a failure the provider reports. Then ``airflow tasks render`` runs at DEBUG. The secret
and the token must not appear in that output, in anything written under AIRFLOW_HOME (task logs), in the
metadata database (XComs, rendered template fields, trigger rows, task notes: all of it, dumped), in the
exception texts, or in the emulator's call log and its DEBUG log. The end-to-end stack runs the same check on a
real scheduler, triggerer and api-server at DEBUG (``tests/test_e2e_stack.py``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_dataworks.emulator import DataWorksEmulator
from tests.conftest import WORKSPACE, dag_source

pytestmark = pytest.mark.usefixtures("airflow_db")
DAG_ID = "secrets_at_debug"
TASKS = """
release = DataWorksTriggerOperator(task_id='release', dataworks_task_id=700001, wait_for_completion=True,
                                       wait_for='downstream', poll_interval=1, deferrable=False)
    DataWorksTaskInstanceSensor(task_id='wait', instance_id="{{ ti.xcom_pull(task_ids='release') }}",
                                wait_for='workflow', poke_interval=1, deferrable=True) << release
    DataWorksTaskInstanceSensor(task_id='not_found', instance_id=999, poke_interval=1) << release
    DataWorksTriggerOperator(task_id='no_instance', dataworks_task_id=700001, trigger_time='2026-11-25 00:45:00')
"""
#: Airflow 3's dag.test() logs every MaskSecret message at DEBUG with its body, i.e. the secret being masked
#: (InProcessSupervisorComms.send in airflow/sdk/execution_time/supervisor.py); Airflow itself sends one for each
#: connection password and extra it hands a task. The real supervisor logs those messages "(body omitted)", and
#: tests/test_e2e_stack.py checks a real stack at DEBUG with nothing left out. These lines are Airflow's, in
#: dag.test() only, and are the one thing left out here (README: known issues).
DAG_TEST_MASK_SECRET_LINE = re.compile(r"Sending request .*msg=MaskSecret\(")


def test_no_secret_anywhere_at_debug(
    emulator: DataWorksEmulator, ticking: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the emulator's own log
    sts = emulator.add_sts_credentials()
    secrets = {"AccessKey secret": sts.access_key_secret, "STS token": sts.security_token}
    connection = {
        "conn_type": "dataworks",
        "login": sts.access_key_id,
        "password": sts.access_key_secret,
        "extra": {"endpoint": emulator.endpoint, "region_id": "cn-hangzhou", "project_id": WORKSPACE,
                  "auth_type": "sts", "security_token": sts.security_token, "qps": 50},
    }  # fmt: skip
    home = Path(os.environ["AIRFLOW_HOME"])
    dag_file = home / "dags" / f"{DAG_ID}.py"
    dag_file.write_text(textwrap.dedent(dag_source(DAG_ID, TASKS.strip())))
    env = {**os.environ, "AIRFLOW_CONN_DATAWORKS_DEFAULT": json.dumps(connection),
           "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"}  # fmt: skip

    run, render = (
        subprocess.run([sys.executable, "-m", "airflow", *args, "2026-11-25T00:30:00+08:00"],
                       env=env, capture_output=True, text=True, timeout=300)
        for args in (("dags", "test", DAG_ID), ("tasks", "render", DAG_ID, "release"))
    )  # fmt: skip

    output = "\n".join(
        line for line in (run.stdout + run.stderr).splitlines() if not DAG_TEST_MASK_SECRET_LINE.search(line)
    )
    database = sqlite3.connect(home / "airflow.db")
    states = dict(database.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (DAG_ID,)))
    assert states == {"release": "success", "wait": "success", "not_found": "failed", "no_instance": "failed"}, output[
        -3000:
    ]
    assert "Invalid.TaskInstance.NotFound" in output and "has no instance scheduled at" in output  # exception texts
    assert " DEBUG " in output.upper() or "[debug" in output, "nothing was logged at DEBUG"
    assert "dataworks_task_id" in render.stdout, render.stdout[-2000:] + render.stderr[-2000:]
    places = {
        "dag.test output (task logs, exceptions)": output,
        "airflow tasks render": render.stdout + render.stderr,
        "metadata database (XCom, rendered fields, triggers, ...)": "\n".join(database.iterdump()),
        "emulator call log": json.dumps([call.to_dict() for call in emulator.calls]),
        "emulator DEBUG log": caplog.text,
    }
    written = [p for p in home.rglob("*") if p.is_file() and p.suffix != ".db"]  # task logs and the rest
    places |= {str(p): p.read_text(errors="replace") for p in written}
    for what, secret in secrets.items():
        leaked = {where: _line_with(secret, text) for where, text in places.items() if secret in text}
        assert not leaked, f"the {what} appears in {leaked}"


def _line_with(secret: str, text: str) -> str:
    """The first line holding ``secret``, the secret blanked out (the failure says where, not what)."""
    line = next(line for line in text.splitlines() if secret in line)
    return line.replace(secret, "<SECRET>")[:500]
