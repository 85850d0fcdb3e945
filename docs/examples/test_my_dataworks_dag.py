"""Test a DataWorks DAG against the local emulator, with pytest: no cloud account, no Airflow services.

Run it with ``pytest test_my_dataworks_dag.py``. The plugin starts the emulator (the demo workspace: node 700001 at
00:30 Asia/Shanghai, three nodes after it), points ``dataworks_default`` at it, migrates Airflow's database in
``$AIRFLOW_HOME`` if it has no tables yet, and runs the emulated clock fast so that the nodes' durations pass in
moments.
"""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

# Usually one line in your conftest.py; here, so that this file runs on its own.
pytest_plugins = ["airflow_provider_dataworks.testing"]

# Your DAG file; here the provider's example that triggers node 700001 and waits for its workflow.
DAG_FILE = Path(__file__).resolve().parents[2] / "example_dags" / "example_dataworks_wait_workflow.py"
RUN = pendulum.datetime(2026, 11, 25, 0, 30, tz="Asia/Shanghai")  # the node's instance of that day
TRIGGER_TIME = 1795537800000  # = RUN in epoch milliseconds: what DataWorks' TriggerSchedulerTaskInstance receives


def test_the_dag_releases_its_date_s_instance_once_and_waits_for_the_workflow(dataworks_emulator):
    emu = dataworks_emulator

    run = emu.run_dag(DAG_FILE, RUN)  # dag.test() for that date

    assert run.state == "success"
    (trigger,) = emu.calls_of("TriggerSchedulerTaskInstance")  # exactly one trigger call ...
    assert trigger.params["TaskId"] == "700001"  # ... for our node ...
    assert int(trigger.params["TriggerTime"]) == TRIGGER_TIME  # ... and the instance of the run's date
    instance = emu.instance_of(700001, TRIGGER_TIME)
    assert instance.releases == 1
    workflow = emu.backend.workflow_instance(instance.workflow_instance_id)
    assert emu.backend.workflow_status(workflow)[0].value == "Success"  # its three downstream nodes ran


def test_running_it_again_for_the_same_date_triggers_nothing(dataworks_emulator):
    emu = dataworks_emulator
    emu.run_dag(DAG_FILE, RUN)
    emu.run_dag(DAG_FILE, RUN)  # a retry, a cleared task, a backfill re-run of the date
    assert emu.trigger_times(700001) == [TRIGGER_TIME]


def test_a_date_before_the_start_date_fails_instead_of_testing_nothing(dataworks_emulator):
    from airflow_provider_dataworks.testing import NoTaskRanError

    with pytest.raises(NoTaskRanError, match="before DAG 'example_dataworks_wait_workflow''s start_date"):
        dataworks_emulator.run_dag(DAG_FILE, pendulum.datetime(2026, 10, 1, 0, 30, tz="Asia/Shanghai"))
    assert dataworks_emulator.calls == []
