"""End-to-end DAG: releases node 700001 and waits (deferred) for its downstream through ``dataworks_role``,
a connection that assumes a RAM role with its AccessKey (the emulator plays STS too)."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

with DAG(
    dag_id="e2e_role_connection",
    schedule=None,  # triggered with a logical date, which is the TriggerTime
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
):
    DataWorksTriggerOperator(
        task_id="release_and_wait",
        dataworks_task_id=700001,
        dataworks_conn_id="dataworks_role",
        wait_for_completion=True,
        wait_for="downstream",
        deferrable=True,
        # The first poll comes after poll_interval. Not sooner: a trigger that fires before the scheduler has
        # handled the executor's event for the deferring try makes Airflow 3.3 fail the task ("finished with
        # state success, but the task instance's state attribute is queued").
        poll_interval=15,
    )
