"""End-to-end DAGs: release node 700001 and wait (deferred, in the real triggerer) for its workflow, through a
connection of the metadata database (``e2e_conn_database``: ``dataworks_db``) or of the stack's local-filesystem
secrets backend (``e2e_conn_secrets_file``: ``dataworks_file``); tests/system/test_e2e_connections.py makes both."""

from __future__ import annotations

import pendulum
from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dataworks.operators.dataworks import DataWorksTriggerOperator

for dag_id, conn_id in (("e2e_conn_database", "dataworks_db"), ("e2e_conn_secrets_file", "dataworks_file")):
    with DAG(
        dag_id=dag_id,
        schedule=None,  # triggered with a logical date, which is the TriggerTime
        start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
        catchup=False,
    ):
        DataWorksTriggerOperator(
            task_id="release_and_wait",
            dataworks_task_id=700001,
            dataworks_conn_id=conn_id,
            wait_for_completion=True,
            wait_for="workflow",
            deferrable=True,
            poll_interval=10,  # not under 10 s: see tests/dags/e2e_role_connection.py
        )
