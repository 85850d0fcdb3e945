"""End-to-end DAG: releases node 700001 and waits (deferred) for its workflow; marking the waiting task failed stops
the workflow instance (``cancel_on_kill``, through the trigger's ``on_kill`` on Airflow 3.3)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="e2e_control_cancel",
    schedule=None,  # triggered with a logical date, which is the TriggerTime
    start_date=pendulum.datetime(2026, 10, 1, tz="Asia/Shanghai"),
    catchup=False,
):
    DataWorksTriggerOperator(
        task_id="release_and_wait",
        dataworks_task_id=700001,
        wait_for_completion=True,
        wait_for="workflow",
        deferrable=True,
        poll_interval=15,  # not sooner: see e2e_role_connection.py
        cancel_on_kill=True,
    )
